//! `tocsin.toml`: every field documented here is documented for users in
//! `tocsin.example.toml`.

pub use crate::channels::sms::config::{secret, GatewayConfig, SmsConfig, SmsTransport};
pub use crate::channels::telegram::config::{TelegramConfig, TelegramTransport};
use crate::domain::{recipient_language, Audience, ChannelKind, Language, Recipient};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://FILE`; `TOCSIN_DATABASE_URL` and `--database` override it.
    pub database_url: String,
    pub database: Database,
    pub hospital: Hospital,
    pub dispatch: Dispatch,
    pub email: EmailConfig,
    pub sms: SmsConfig,
    pub telegram: TelegramConfig,
    pub policy: Policies,
    pub gp_alert: GpAlert,
    pub serve: Serve,
    pub press: Press,
    pub console: Console,
    /// A folder whose templates replace the built-in ones file by file, under the same
    /// names (`email/patients.txt.tera`, `sms/patients.txt.tera`, …). Checked at start: every
    /// template must compile and render.
    pub templates_dir: Option<PathBuf>,
    /// A folder whose phrase files replace the built-in ones file by file
    /// (`nl/messages.ftl`, `fr/messages.ftl`, `en/messages.ftl`) and whose `names.toml` adds
    /// department and campus names to the built-in ones. Checked at start: every phrase in
    /// nl, fr and en, with the variables Tocsin gives it.
    pub locales_dir: Option<PathBuf>,
    /// The file this was read from; none when no file was found and the defaults apply.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// `[database]`: the connections each process keeps to a PostgreSQL database. A SQLite file
/// keeps its own few connections, which these do not change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// Connections one process opens at most; every process counts against the server's
    /// `max_connections`.
    pub max_connections: u32,
    /// How long a task waits for a free connection before its operation fails.
    pub acquire_timeout_seconds: u64,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            max_connections: 10,
            acquire_timeout_seconds: 30,
        }
    }
}

/// `tocsin serve`: the delivery-receipt endpoints (and the dispatcher beside them). They are
/// reachable by anyone who can reach the host, so every connection is bounded in time and
/// their number is capped.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Serve {
    /// Address and port the HTTP server listens on.
    pub bind: String,
    /// Signs the delivery ids in Kannel's DLR URLs; `TOCSIN_RECEIPT_SECRET` overrides it.
    /// Required by `serve` and by `send` when a Kannel gateway has a `dlr_url`.
    pub receipt_secret: Option<String>,
    /// A new connection must have sent a whole request head (request line and headers)
    /// within this long, and so must a kept-alive one from its next request's first byte.
    pub header_read_timeout_seconds: u64,
    /// A kept-alive connection that starts no new request within this long is closed.
    pub idle_timeout_seconds: u64,
    /// A request not answered within this long (its body read, its receipt committed) is
    /// answered 408; the gateway sends the receipt again.
    pub request_timeout_seconds: u64,
    /// Connections open at once. At the cap, a new connection closes the oldest one that
    /// is not in the middle of a request; if every one is, the new connection is closed.
    /// `serve` needs this many file descriptors and some more (it raises its soft limit, up
    /// to the hard one, when it can).
    pub max_connections: usize,
}

/// The press room: the public pages and feeds `tocsin serve` answers and `tocsin press export`
/// writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Press {
    /// Where readers find the press room (feeds and messages link there); `[hospital]
    /// website` when unset. `tocsin press export` writes what to put there when `serve` cannot
    /// be reached from outside.
    pub public_url: Option<String>,
    /// CAP's `sender`: who issues the alerts, without spaces or commas; the public URL's host
    /// when unset.
    pub cap_sender: Option<String>,
    /// How long browsers, feed readers and CDNs may keep a page or feed before they ask again
    /// (each then gets 304 when nothing changed).
    pub cache_seconds: u32,
    /// An Ed25519 private key in PKCS#8 PEM (`openssl genpkey -algorithm ed25519 -out
    /// FILE`): when set, every feed and CAP alert has its detached signature beside it
    /// (`atom.xml.sig`) and the public key is published as `signing-key.pem`. Unsigned when
    /// unset.
    pub signing_key: Option<PathBuf>,
    /// Requests a second `tocsin serve` answers from the press room at most; more wait their
    /// turn (none is refused). The same process takes the gateways' delivery receipts and
    /// sends the updates: a crowd refreshing the press page must not starve them.
    pub max_requests_per_second: u32,
}

impl Default for Press {
    fn default() -> Self {
        Press {
            public_url: None,
            cap_sender: None,
            cache_seconds: 60,
            signing_key: None,
            max_requests_per_second: 25_000,
        }
    }
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            bind: "127.0.0.1:8080".into(),
            receipt_secret: None,
            header_read_timeout_seconds: 10,
            idle_timeout_seconds: 60,
            request_timeout_seconds: 30,
            max_connections: 512,
        }
    }
}

impl std::fmt::Debug for Serve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("bind", &self.bind)
            .field(
                "receipt_secret",
                &self.receipt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "header_read_timeout_seconds",
                &self.header_read_timeout_seconds,
            )
            .field("idle_timeout_seconds", &self.idle_timeout_seconds)
            .field("request_timeout_seconds", &self.request_timeout_seconds)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl Serve {
    /// `TOCSIN_RECEIPT_SECRET`, else `receipt_secret`; an empty one counts as none.
    pub fn receipt_secret(&self) -> Option<String> {
        std::env::var("TOCSIN_RECEIPT_SECRET")
            .ok()
            .or_else(|| self.receipt_secret.clone())
            .filter(|secret| !secret.is_empty())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://tocsin.db".into(),
            database: Database::default(),
            hospital: Hospital::default(),
            dispatch: Dispatch::default(),
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            telegram: TelegramConfig::default(),
            policy: Policies::default(),
            gp_alert: GpAlert::default(),
            serve: Serve::default(),
            press: Press::default(),
            console: Console::default(),
            templates_dir: None,
            locales_dir: None,
            file: None,
        }
    }
}

/// The console's accounts: sessions, setup tokens and the sign-in throttle.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Console {
    /// A session ends this long after sign-in, however busy.
    pub session_hours: u32,
    /// A setup token (`tocsin user add --setup-link`) is refused after this long.
    pub setup_link_hours: u32,
    /// Failed sign-ins for a user name from one address (and four times as many from one
    /// address, whatever the names) allowed before each further attempt from there waits:
    /// 1 s, then twice as long each time, up to a minute.
    pub login_attempts_before_delay: u32,
    /// The session cookie is sent over HTTPS only (`Secure`, named `__Host-tocsin-session`).
    /// Off only where the browser reaches `serve` by plain HTTP on a trusted network: behind
    /// a TLS proxy, leave it on.
    pub secure_cookies: bool,
    /// The addresses of the proxies in front of `serve` (the TLS proxy), each an IP address.
    /// A request whose connection comes from one of them is taken to come from the address
    /// the proxy wrote in `X-Forwarded-For` (the rightmost there that is not itself one of
    /// them): the sign-in throttle and the audit log then see each browser, not the proxy.
    /// From any other peer the header is ignored, since anyone can write it.
    #[serde(deserialize_with = "ip_addresses")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// IP addresses, each refused with its text and the setting's name if it is not one.
fn ip_addresses<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<std::net::IpAddr>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|text| {
            text.trim()
                .parse::<std::net::IpAddr>()
                .map(|address| address.to_canonical())
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "[console] trusted_proxies: {text:?} is not an IP address (write each \
                         proxy's address, such as \"127.0.0.1\" or \"::1\": no names, no ranges)"
                    ))
                })
        })
        .collect()
}

impl Console {
    /// What `serve` refuses to start with: a session or setup link that could never be used.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.session_hours == 0 {
            problems.push(
                "[console] session_hours = 0: every session would end as it opens".to_string(),
            );
        }
        if self.setup_link_hours == 0 {
            problems.push(
                "[console] setup_link_hours = 0: every setup link would be expired when printed"
                    .to_string(),
            );
        }
        problems
    }
}

impl Default for Console {
    fn default() -> Self {
        Console {
            session_hours: 12,
            setup_link_hours: 72,
            login_attempts_before_delay: 5,
            secure_cookies: true,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Which channels reach each audience, in order of preference. Each key of each audience's
/// table is optional: what is left out keeps that audience's default.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "PoliciesFile")]
pub struct Policies {
    pub patients: ChannelPolicy,
    pub gps: ChannelPolicy,
    pub media: ChannelPolicy,
    /// The public followers: Telegram only, no fallback; not configurable, since the
    /// followers gave Tocsin no other address.
    pub public: ChannelPolicy,
}

impl Default for Policies {
    fn default() -> Self {
        PoliciesFile::default().into()
    }
}

/// `[policy.*]` as written: any key may be missing.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PoliciesFile {
    patients: PolicyFile,
    gps: PolicyFile,
    media: PolicyFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PolicyFile {
    channels: Option<Vec<ChannelKind>>,
    mode: Option<PolicyMode>,
    fallback: Option<Vec<ChannelKind>>,
    fallback_after_minutes: Option<u64>,
}

impl PolicyFile {
    fn or(self, channels: Vec<ChannelKind>, fallback: Vec<ChannelKind>) -> ChannelPolicy {
        ChannelPolicy {
            channels: self.channels.unwrap_or(channels),
            mode: self.mode.unwrap_or(PolicyMode::All),
            fallback: Some(self.fallback.unwrap_or(fallback)),
            fallback_after_minutes: self
                .fallback_after_minutes
                .unwrap_or_else(default_fallback_after_minutes),
        }
    }
}

impl From<PoliciesFile> for Policies {
    /// The defaults: patients by SMS, e-mail and Telegram, falling back to e-mail; GPs by
    /// e-mail and SMS; the press by e-mail and Telegram; every channel the contact has an
    /// address for.
    fn from(file: PoliciesFile) -> Self {
        use ChannelKind::*;
        Policies {
            patients: file.patients.or(vec![Sms, Email, Telegram], vec![Email]),
            gps: file.gps.or(vec![Email, Sms], Vec::new()),
            media: file.media.or(vec![Email, Telegram], Vec::new()),
            public: PolicyFile::default().or(vec![Telegram], Vec::new()),
        }
    }
}

impl Policies {
    pub fn for_audience(&self, audience: Audience) -> &ChannelPolicy {
        match audience {
            Audience::Patients => &self.patients,
            Audience::Gps => &self.gps,
            Audience::Media => &self.media,
            Audience::Public => &self.public,
        }
    }

    /// The fallback channels of an audience: as configured, else e-mail for patients (they
    /// are the ones an SMS mostly reaches) and none for GPs and the press, whom e-mail
    /// reaches first anyway.
    pub fn fallback(&self, audience: Audience) -> &[ChannelKind] {
        const PATIENTS: &[ChannelKind] = &[ChannelKind::Email];
        let policy = self.for_audience(audience);
        match (&policy.fallback, audience) {
            (Some(channels), _) => channels,
            (None, Audience::Patients) => PATIENTS,
            (None, Audience::Gps | Audience::Media | Audience::Public) => &[],
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChannelPolicy {
    /// In order of preference; an update's own `channels` can only narrow this.
    pub channels: Vec<ChannelKind>,
    pub mode: PolicyMode,
    /// Where to turn when an SMS does not reach the contact — it ended `undeliverable`,
    /// `failed` for good, or got no delivery receipt within `fallback_after_minutes`: the
    /// first of these channels the contact has an address for, has not opted out of and has
    /// no delivery on yet (and that the update's `channels` allow). Unset: `["email"]` for
    /// patients, none for GPs and media; `[]`: no fallback.
    pub fallback: Option<Vec<ChannelKind>>,
    /// Minutes after an SMS was handed to a gateway that sends delivery receipts (one with
    /// a `dlr_url`, `status_callback` or `callback`) without a receipt saying delivered or
    /// failed, after which the fallback is sent; 0: only undeliverable and failed SMS fall
    /// back.
    pub fallback_after_minutes: u64,
}

fn default_fallback_after_minutes() -> u64 {
    60
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// Every channel the contact has an address for.
    All,
    /// The first channel the contact has an address for and has not opted out of.
    First,
}

/// What a GP's referral alert may say about their patients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GpAlert {
    /// Any of "name", "initials", "birth_date", "appointment". A hospital that may not put
    /// patient names in e-mail leaves out "name".
    pub patient_fields: Vec<PatientField>,
}

impl Default for GpAlert {
    fn default() -> Self {
        GpAlert {
            patient_fields: vec![
                PatientField::Name,
                PatientField::BirthDate,
                PatientField::Appointment,
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientField {
    Name,
    Initials,
    BirthDate,
    Appointment,
}

/// Facts about the hospital that every message repeats.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hospital {
    pub name: String,
    /// Signs SMS, where every character counts.
    pub short_name: String,
    /// The number patients may call.
    pub phone: String,
    pub press_phone: String,
    /// Where to read more (a page that does not depend on the hospital's own servers).
    pub website: String,
    /// IANA time zone in which appointment times are written.
    pub timezone: String,
    /// Language of a campus, for patients whose own language is unknown.
    pub campus_languages: BTreeMap<String, Language>,
    /// The language of a recipient whose own language, patients and campus say nothing.
    pub default_language: Language,
    /// FHIR identifier systems under which a FHIR export writes this hospital's own patient
    /// numbers (the appointments export's `patient_id`): such an identifier names the same
    /// patient as that number. Any other system is a namespace of its own.
    pub patient_number_systems: Vec<String>,
}

impl Default for Hospital {
    fn default() -> Self {
        Hospital {
            name: "Ziekenhuis Noord-Antwerpen".into(),
            short_name: "ZNA".into(),
            phone: "+32 3 000 00 00".into(),
            press_phone: "+32 3 000 00 01".into(),
            website: "https://status.example.be".into(),
            timezone: "Europe/Brussels".into(),
            campus_languages: BTreeMap::from([
                ("Antwerpen".into(), Language::Nl),
                ("Deurne".into(), Language::Nl),
            ]),
            default_language: Language::En,
            patient_number_systems: Vec::new(),
        }
    }
}

impl Hospital {
    pub fn tz(&self) -> Result<chrono_tz::Tz, String> {
        self.timezone
            .parse()
            .map_err(|_| format!("unknown time zone {:?}", self.timezone))
    }

    /// The language a recipient is written to (see [`recipient_language`]).
    pub fn language_of(&self, recipient: &Recipient) -> Language {
        recipient_language(
            recipient,
            |campus| self.campus_language(campus),
            self.default_language,
        )
    }

    pub fn campus_language(&self, campus: &str) -> Option<Language> {
        self.campus_languages
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(campus.trim()))
            .map(|(_, language)| *language)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dispatch {
    /// Messages in flight at once, across all channels.
    pub workers: usize,
    /// Deliveries claimed per database round trip.
    pub claim_batch: u32,
    /// How long a claim holds; after it a crashed worker's deliveries are due again.
    /// Longer than any channel's send timeout.
    pub lease_seconds: u64,
    /// Attempts per delivery before it is given up as `failed`.
    pub max_attempts: u32,
    /// First retry delay; each later one doubles, with full jitter.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// How long a channel may stay unavailable (connection refused, timeouts, every SMS
    /// gateway down) before the run stops it and holds its messages. While it waits, no
    /// attempt is counted against any recipient.
    pub outage_patience_minutes: u64,
    /// When the first this many answers of a channel in a run are all rejections of one
    /// kind, the channel stops (it is more likely the gateway than that many bad
    /// addresses). 0 turns the guard off.
    pub mass_rejection_guard: u32,
}

impl Default for Dispatch {
    fn default() -> Self {
        Dispatch {
            workers: 16,
            claim_batch: 500,
            lease_seconds: 120,
            max_attempts: 8,
            backoff_base_ms: 30_000,
            backoff_max_ms: 15 * 60_000,
            outage_patience_minutes: 30,
            mass_rejection_guard: 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub transport: EmailTransport,
    /// Outbox: one `.eml` file per message.
    pub dir: PathBuf,
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS),
    /// `smtps://host:port` (TLS from the first byte). User and password may be in the URL;
    /// the password is better given as `TOCSIN_SMTP_PASSWORD`.
    pub smtp_url: String,
    /// `"Name <address>"` of the sender.
    pub from: String,
    pub reply_to: Option<String>,
    /// SMTP connections kept open.
    pub connections: usize,
    /// Per SMTP command; a send that takes longer is retried later.
    pub timeout_seconds: u64,
    /// Domain of the generated Message-IDs.
    pub message_id_domain: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            transport: EmailTransport::Outbox,
            dir: PathBuf::from("outbox/email"),
            smtp_url: "smtp://127.0.0.1:25".into(),
            from: "Crisiscel ZNA <crisis@example.be>".into(),
            reply_to: None,
            connections: 8,
            timeout_seconds: 30,
            message_id_domain: "tocsin.invalid".into(),
        }
    }
}

/// A setting still at its example value, which real messages must not carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placeholder {
    /// The table of `tocsin.toml` it belongs in: `hospital`, `email`.
    pub section: &'static str,
    pub key: &'static str,
    pub value: String,
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.trim().is_empty() {
            write!(f, "[{}] {} is empty", self.section, self.key)
        } else {
            write!(
                f,
                "[{}] {} is still the example {:?}",
                self.section, self.key, self.value
            )
        }
    }
}

/// A web address or mailbox on a domain reserved for examples (RFC 2606, and the shipped
/// `example.be`): nobody can read or answer it.
fn has_example_domain(value: &str) -> bool {
    let host = match value.split_once('@') {
        Some((_, domain)) => domain.trim_end_matches('>').trim().to_ascii_lowercase(),
        None => match url::Url::parse(value) {
            Ok(url) => url.host_str().unwrap_or_default().to_ascii_lowercase(),
            Err(_) => return false,
        },
    };
    let labels: Vec<&str> = host.split('.').collect();
    let reserved_tld = labels
        .last()
        .is_some_and(|tld| ["example", "invalid", "test", "localhost"].contains(tld));
    let example_name = labels.len() >= 2 && labels[labels.len() - 2] == "example";
    reserved_tld || example_name
}

impl Config {
    /// Reads `path`, or `tocsin.toml` in the working directory if it exists, or defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let default_path = Path::new("tocsin.toml");
        let path = match path {
            Some(path) => path,
            None if default_path.exists() => default_path,
            None => return Ok(Config::default()),
        };
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            error,
        })?;
        let mut config = Self::parse(&text, &path.display().to_string())?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    /// The hospital details and e-mail sender that messages would carry while they still
    /// hold the shipped example values (the defaults, as in `tocsin.example.toml`), an example
    /// domain, or nothing. `update draft`, `approve` and `send` refuse while any is left.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let example = Config::default();
        let hospital = &self.hospital;
        let candidates = [
            ("hospital", "name", &hospital.name, &example.hospital.name),
            (
                "hospital",
                "short_name",
                &hospital.short_name,
                &example.hospital.short_name,
            ),
            (
                "hospital",
                "phone",
                &hospital.phone,
                &example.hospital.phone,
            ),
            (
                "hospital",
                "press_phone",
                &hospital.press_phone,
                &example.hospital.press_phone,
            ),
            (
                "hospital",
                "website",
                &hospital.website,
                &example.hospital.website,
            ),
            ("email", "from", &self.email.from, &example.email.from),
        ];
        candidates
            .into_iter()
            .filter(|(_, _, value, example)| {
                let value = value.trim();
                value.is_empty() || value == example.as_str() || has_example_domain(value)
            })
            .map(|(section, key, value, _)| Placeholder {
                section,
                key,
                value: value.clone(),
            })
            .collect()
    }

    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|error| ConfigError::Invalid {
            path: path.to_string(),
            message: error.to_string(),
        })?;
        config
            .hospital
            .tz()
            .map_err(|message| ConfigError::Invalid {
                path: path.to_string(),
                message,
            })?;
        for (audience, name) in [
            (Audience::Patients, "patients"),
            (Audience::Gps, "gps"),
            (Audience::Media, "media"),
        ] {
            if config.policy.fallback(audience).contains(&ChannelKind::Sms) {
                return Err(ConfigError::Invalid {
                    path: path.to_string(),
                    message: format!(
                        "policy.{name}.fallback: sms cannot be the fallback of an SMS \
                         (use email or telegram)"
                    ),
                });
            }
        }
        config
            .telegram
            .public_channels()
            .and(config.telegram.bot_username().map(|_| ()))
            .map_err(|message| ConfigError::Invalid {
                path: path.to_string(),
                message,
            })?;
        config
            .sms
            .check_rates()
            .map_err(|message| ConfigError::Invalid {
                path: path.to_string(),
                message,
            })?;
        if config.database.max_connections == 0 || config.database.acquire_timeout_seconds == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_string(),
                message: "database.max_connections and database.acquire_timeout_seconds must \
                          be at least 1"
                    .into(),
            });
        }
        if config.dispatch.workers == 0 || config.dispatch.max_attempts == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_string(),
                message: "dispatch.workers and dispatch.max_attempts must be at least 1".into(),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../tocsin.example.toml");

    #[test]
    fn the_example_configuration_is_valid() {
        let config = Config::parse(EXAMPLE, "tocsin.example.toml").expect("example parses");
        assert_eq!(config.email.transport, EmailTransport::Outbox);
    }

    /// The dotted path of every table inside `table`.
    fn tables(table: &toml::Table, path: &str, out: &mut Vec<String>) {
        for (key, value) in table {
            if let toml::Value::Table(inner) = value {
                let inner_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                out.push(inner_path.clone());
                tables(inner, &inner_path, out);
            }
        }
    }

    fn table_mut<'a>(root: &'a mut toml::Table, path: &str) -> &'a mut toml::Table {
        path.split('.')
            .filter(|key| !key.is_empty())
            .fold(root, |table, key| {
                table
                    .get_mut(key)
                    .and_then(toml::Value::as_table_mut)
                    .expect("table exists")
            })
    }

    #[test]
    fn every_key_of_the_example_is_optional_and_its_value_is_the_default() {
        let example: toml::Table = toml::from_str(EXAMPLE).expect("example is TOML");
        let parsed = |table: &toml::Table, without: &str| {
            let text = toml::to_string(table).expect("TOML");
            let config = Config::parse(&text, "t.toml")
                .unwrap_or_else(|error| panic!("without {without}: {error}"));
            format!("{config:?}")
        };
        let expected = parsed(&example, "nothing");
        assert_eq!(
            format!("{:?}", Config::parse("", "empty.toml").expect("empty")),
            expected,
            "an empty file is the example's configuration"
        );
        let mut paths = vec![String::new()];
        tables(&example, "", &mut paths);
        // Its keys are the hospital's campuses, not settings: only the whole table goes.
        let maps = ["hospital.campus_languages"];
        let mut tried = 0;
        for path in &paths {
            let keys: Vec<String> = table_mut(&mut example.clone(), path)
                .keys()
                .cloned()
                .collect();
            for key in keys {
                let mut without = example.clone();
                let table = table_mut(&mut without, path);
                if maps.contains(&path.as_str()) && !table[&key].is_table() {
                    continue;
                }
                table.remove(&key);
                let name = format!("{path}.{key}");
                assert_eq!(parsed(&without, &name), expected, "without {name}");
                tried += 1;
            }
        }
        assert!(tried > 40, "only {tried} keys and tables tried");
    }

    #[test]
    fn gateways_are_read_in_order_and_never_print_their_secrets() {
        let text = "[sms]\ntransport = \"gateways\"\n\
            [[sms.gateways]]\nkind = \"kannel\"\nbase_url = \"http://127.0.0.1:13013\"\nusername = \"tocsin\"\npassword = \"hunter2\"\nfrom = \"ZNA\"\n\
            [[sms.gateways]]\nkind = \"twilio\"\naccount_sid = \"AC1\"\nauth_token_env = \"TOCSIN_TWILIO_TOKEN\"\nfrom = \"+3212\"\n";
        let config = Config::parse(text, "t.toml").expect("valid");
        assert_eq!(config.sms.transport, SmsTransport::Gateways);
        assert!(matches!(
            config.sms.gateways[0],
            GatewayConfig::Kannel { .. }
        ));
        assert!(matches!(
            config.sms.gateways[1],
            GatewayConfig::Twilio { .. }
        ));
        assert!(!format!("{config:?}").contains("hunter2"));
        let error = Config::parse("[[sms.gateways]]\nkind = \"clickatell\"\n", "t.toml")
            .expect_err("refused");
        assert!(error.to_string().contains("clickatell"), "{error}");
    }

    #[test]
    fn patients_fall_back_to_email_unless_told_otherwise_and_sms_is_no_fallback() {
        let config = Config::parse(
            "[policy.patients]\nchannels = [\"sms\"]\nmode = \"first\"\n\
             [policy.gps]\nchannels = [\"sms\"]\nmode = \"all\"\nfallback = [\"telegram\"]\n\
             fallback_after_minutes = 0\n",
            "t.toml",
        )
        .expect("valid");
        assert_eq!(
            config.policy.fallback(Audience::Patients),
            [ChannelKind::Email]
        );
        assert_eq!(config.policy.patients.fallback_after_minutes, 60);
        assert_eq!(
            config.policy.fallback(Audience::Gps),
            [ChannelKind::Telegram]
        );
        assert_eq!(config.policy.gps.fallback_after_minutes, 0);
        assert!(config.policy.fallback(Audience::Media).is_empty());
        let error = Config::parse(
            "[policy.patients]\nchannels = [\"sms\"]\nmode = \"all\"\nfallback = [\"sms\"]\n",
            "t.toml",
        )
        .expect_err("refused");
        assert!(
            error.to_string().contains("policy.patients.fallback"),
            "{error}"
        );
    }

    #[test]
    fn a_rate_for_no_configured_gateway_is_refused_naming_the_key_and_the_gateways() {
        let gateways = "[sms]\ntransport = \"gateways\"\n\
            [[sms.gateways]]\nkind = \"kannel\"\nname = \"kannel-deurne\"\nbase_url = \"http://127.0.0.1:13013\"\nusername = \"u\"\npassword = \"p\"\nfrom = \"ZNA\"\n\
            [[sms.gateways]]\nkind = \"twilio\"\naccount_sid = \"AC1\"\nauth_token = \"t\"\nfrom = \"+3212\"\n";
        let config = Config::parse(
            &format!("{gateways}[sms.rates]\nkannel-deurne = 50\ntwilio = 10\n"),
            "t.toml",
        )
        .expect("valid");
        assert_eq!(config.sms.rates["kannel-deurne"], 50);
        assert_eq!(config.sms.rate_burst, 1, "smooth by default");

        let error = Config::parse(&format!("{gateways}[sms.rates]\nkannel = 50\n"), "t.toml")
            .expect_err("refused");
        let error = error.to_string();
        assert!(error.contains("t.toml"), "{error}");
        assert!(error.contains("sms.rates.kannel"), "{error}");
        assert!(
            error.contains("the gateways are kannel-deurne, twilio"),
            "{error}"
        );

        let error = Config::parse("[sms.rates]\nvonage = 5\n", "t.toml").expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("no [[sms.gateways]] is configured"),
            "{error}"
        );
        let error = Config::parse(&format!("{gateways}[sms.rates]\ntwilio = 0\n"), "t.toml")
            .expect_err("refused");
        assert!(error.to_string().contains("sms.rates.twilio: 0"), "{error}");
        let error = Config::parse("[sms]\nrate_burst = 0\n", "t.toml").expect_err("refused");
        assert!(error.to_string().contains("sms.rate_burst"), "{error}");
    }

    #[test]
    fn the_example_hospital_details_are_placeholders_until_set() {
        let keys = |config: &Config| {
            config
                .placeholders()
                .iter()
                .map(|placeholder| format!("{}.{}", placeholder.section, placeholder.key))
                .collect::<Vec<_>>()
        };
        let every = [
            "hospital.name",
            "hospital.short_name",
            "hospital.phone",
            "hospital.press_phone",
            "hospital.website",
            "email.from",
        ];
        assert_eq!(keys(&Config::default()), every);
        let example = Config::parse(include_str!("../tocsin.example.toml"), "example")
            .expect("example parses");
        assert_eq!(keys(&example), every, "copying the example is not enough");
        let own = "[hospital]\nname = \"AZ Testwijk\"\nshort_name = \"AZT\"\n\
                   phone = \"+32 3 555 12 12\"\npress_phone = \"+32 3 555 12 13\"\n\
                   website = \"https://crisis.azt.be\"\n\
                   [email]\nfrom = \"Crisiscel AZT <crisis@azt.be>\"\n";
        assert!(keys(&Config::parse(own, "t.toml").expect("valid")).is_empty());
        let half = own
            .replace("+32 3 555 12 12", " ")
            .replace("https://crisis.azt.be", "https://status.example.com")
            .replace("crisis@azt.be", "crisis@relay.invalid");
        let half = Config::parse(&half, "t.toml").expect("valid");
        assert_eq!(
            keys(&half),
            ["hospital.phone", "hospital.website", "email.from"]
        );
        assert_eq!(
            half.placeholders()[1].to_string(),
            "[hospital] website is still the example \"https://status.example.com\""
        );
    }

    #[test]
    fn a_trusted_proxy_is_an_ip_address_and_anything_else_is_refused_naming_the_setting() {
        let config = Config::parse(
            "[console]\ntrusted_proxies = [\"127.0.0.1\", \" ::ffff:10.0.0.5 \"]\n",
            "t.toml",
        )
        .expect("valid");
        assert_eq!(
            config.console.trusted_proxies,
            [
                std::net::IpAddr::from([127, 0, 0, 1]),
                std::net::IpAddr::from([10, 0, 0, 5])
            ]
        );
        let error = Config::parse("[console]\ntrusted_proxies = [\"proxy.local\"]\n", "t.toml")
            .expect_err("a name is refused");
        let error = error.to_string();
        assert!(
            error.contains("[console] trusted_proxies: \"proxy.local\" is not an IP address"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name() {
        let error = Config::parse("[dispatch]\nwrokers = 3\n", "t.toml").expect_err("refused");
        assert!(error.to_string().contains("wrokers"), "{error}");
    }
}
