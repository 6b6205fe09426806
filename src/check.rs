//! `tocsin check`: what the configuration will do, read without touching anything (no
//! database opened, no directory created, no gateway called), and what would make `update
//! draft`, `approve` or `send` refuse.

use crate::channels::email::{MailBuilder, SmtpTarget};
use crate::config::{
    Config, EmailTransport, GatewayConfig, PatientField, PolicyMode, SmsTransport,
    TelegramTransport,
};
use crate::domain::Audience;
use crate::press;
use crate::render::{CliText, Renderer};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// What the configuration does, section by section, as a person reads it.
    pub lines: Vec<String>,
    /// What would make `update draft`, `approve` or `send` refuse.
    pub problems: Vec<String>,
    /// What works but is probably not meant (nothing leaves the machine, …).
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn to_text(&self) -> String {
        self.to_text_in(CliText::english())
    }

    /// [`Self::to_text`] with its verdict in the command line's language (the lines before
    /// it, built section by section, are English).
    pub fn to_text_in(&self, text: &CliText) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let _ = writeln!(out, "{line}");
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\n{}", text.say("check-warnings", &[]));
            for warning in &self.warnings {
                let _ = writeln!(out, "  - {warning}");
            }
        }
        if self.problems.is_empty() {
            let _ = writeln!(out, "\n{}", text.say("check-nothing-missing", &[]));
        } else {
            let _ = writeln!(out, "\n{}", text.say("check-missing", &[]));
            for problem in &self.problems {
                let _ = writeln!(out, "  - {problem}");
            }
        }
        out
    }
}

pub fn check(config: &Config) -> CheckReport {
    let mut report = CheckReport::default();
    report.lines.push(match &config.file {
        Some(file) => format!("Configuration: {}", file.display()),
        None => "Configuration: none found (no tocsin.toml here, no --config): the built-in \
                 defaults, documented in tocsin.example.toml"
            .to_string(),
    });
    database(config, &mut report);
    dispatch(config, &mut report);
    email(config, &mut report);
    sms(config, &mut report);
    telegram(config, &mut report);
    policy(config, &mut report);
    hospital(config, &mut report);
    messages(config, &mut report);
    serve(config, &mut report);
    console(config, &mut report);
    press(config, &mut report);
    report
}

/// Which templates and phrase files are the hospital's own, once they have passed the
/// checks every command makes at start.
fn messages(config: &Config, report: &mut CheckReport) {
    let public_url = match crate::press::public_url(config) {
        Ok(url) => url,
        Err(_) => {
            report.lines.push(
                "Templates and phrases: not tried (their links need the press room's address, \
                 see below)"
                    .into(),
            );
            return;
        }
    };
    let renderer = Renderer::new(
        config.hospital.clone(),
        public_url,
        config.gp_alert.patient_fields.clone(),
        config.templates_dir.as_deref(),
        config.locales_dir.as_deref(),
    );
    let renderer = match renderer {
        Ok(renderer) => renderer,
        Err(error) => {
            report
                .lines
                .push("Templates and phrases: refused (see below)".into());
            report
                .problems
                .push(format!("templates and phrases: {error}"));
            return;
        }
    };
    report
        .warnings
        .extend(renderer.sms_not_gsm7().iter().cloned());
    let overrides = renderer.overrides();
    if overrides.is_empty() {
        report
            .lines
            .push("Templates and phrases: the built-in ones".into());
    } else {
        report.lines.push(
            "Templates and phrases: the built-in ones, except these (checked: each compiles, \
             renders and has every phrase in nl, fr and en):"
                .into(),
        );
        for path in &overrides {
            report.lines.push(format!("  {}", path.display()));
        }
    }
    for (key, dir) in [
        ("templates_dir", &config.templates_dir),
        ("locales_dir", &config.locales_dir),
    ] {
        if let Some(dir) = dir {
            if !overrides.iter().any(|path| path.starts_with(dir)) {
                report.warnings.push(format!(
                    "{key} {} holds no file Tocsin reads: the built-in ones are used",
                    dir.display()
                ));
            }
        }
    }
}

fn database(config: &Config, report: &mut CheckReport) {
    let url = &config.database_url;
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        report.lines.push(if Path::new(path).exists() {
            format!("Database: {url} (exists)")
        } else {
            format!("Database: {url} (does not exist yet: tocsin import creates it)")
        });
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        report.lines.push(format!(
            "Database: {} (PostgreSQL, not contacted here: tocsin migrate does; up to {} \
             connections per process, {} s to wait for one)",
            without_password(url),
            config.database.max_connections,
            config.database.acquire_timeout_seconds
        ));
    } else {
        report
            .lines
            .push(format!("Database: {}", without_password(url)));
        report.problems.push(format!(
            "database_url {}: neither sqlite://FILE nor postgres://USER@HOST/DATABASE",
            without_password(url)
        ));
    }
}

/// A URL as it may be shown: its password, if it has one, replaced by `***`.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // A URL with a password has a host, so the password can always be set.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

fn dispatch(config: &Config, report: &mut CheckReport) {
    let dispatch = &config.dispatch;
    report.lines.push(format!(
        "Dispatch: {} messages in flight, up to {} attempts per delivery (first retry after \
         {} s, at most {} s apart), a crashed run's claims due again after {} s",
        dispatch.workers,
        dispatch.max_attempts,
        dispatch.backoff_base_ms / 1000,
        dispatch.backoff_max_ms / 1000,
        dispatch.lease_seconds
    ));
    report.lines.push(format!(
        "  a channel unavailable for {} min is stopped; {}",
        dispatch.outage_patience_minutes,
        match dispatch.mass_rejection_guard {
            0 => "the mass-rejection guard is off".to_string(),
            first => format!("so is one whose first {first} answers are all the same rejection"),
        }
    ));
}

fn email(config: &Config, report: &mut CheckReport) {
    let email = &config.email;
    match email.transport {
        EmailTransport::Outbox => {
            report.lines.push(format!(
                "E-mail: outbox, one .eml file per message in {}",
                email.dir.display()
            ));
            report.warnings.push(
                "[email] transport = \"outbox\": e-mails are written to files, nothing leaves \
                 this machine"
                    .into(),
            );
        }
        EmailTransport::Smtp => {
            let password = std::env::var("TOCSIN_SMTP_PASSWORD").ok();
            let shown = url::Url::parse(&email.smtp_url)
                .map(|mut url| {
                    let _ = url.set_password(None);
                    url.to_string()
                })
                .unwrap_or_else(|_| email.smtp_url.clone());
            report.lines.push(format!(
                "E-mail: SMTP to {shown}, {} connections, {} s per exchange",
                email.connections, email.timeout_seconds
            ));
            if let Err(error) = SmtpTarget::parse(&email.smtp_url, password) {
                report.problems.push(format!("[email] {error}"));
            }
        }
    }
    report.lines.push(format!(
        "  from {}{}",
        email.from,
        email
            .reply_to
            .as_deref()
            .map(|reply_to| format!(", replies to {reply_to}"))
            .unwrap_or_default()
    ));
    if let Err(error) = MailBuilder::new(
        &email.from,
        email.reply_to.as_deref(),
        &email.message_id_domain,
    ) {
        report.problems.push(format!("[email] {error}"));
    }
}

fn sms(config: &Config, report: &mut CheckReport) {
    let sms = &config.sms;
    match sms.transport {
        SmsTransport::Outbox => {
            report.lines.push(format!(
                "SMS: outbox, one JSON file per message in {}",
                sms.dir.display()
            ));
            report.warnings.push(
                "[sms] transport = \"outbox\": SMS are written to files, nothing leaves this \
                 machine"
                    .into(),
            );
        }
        SmsTransport::Gateways if sms.gateways.is_empty() => {
            report
                .lines
                .push("SMS: gateways, but none is listed".into());
            report.problems.push(
                "[sms] transport = \"gateways\" but no [[sms.gateways]] is configured".into(),
            );
        }
        SmsTransport::Gateways => {
            report.lines.push(format!(
                "SMS: gateways, tried in this order ({} s per request; a breaker opens after {} \
                 unavailable answers in a row, probes again after {} s):",
                sms.timeout_seconds, sms.failures_to_open, sms.cool_down_seconds
            ));
            for (index, gateway) in sms.gateways.iter().enumerate() {
                gateway_lines(config, index + 1, gateway, report);
            }
        }
    }
    report.lines.push(format!(
        "  an update whose SMS, as rendered, takes more than {} parts is refused at draft",
        sms.max_segments
    ));
}

fn telegram(config: &Config, report: &mut CheckReport) {
    let telegram = &config.telegram;
    match telegram.transport {
        TelegramTransport::Outbox => {
            report.lines.push(format!(
                "Telegram: outbox, one JSON file per message in {} (nothing leaves this machine)",
                telegram.dir.display()
            ));
        }
        TelegramTransport::Bot => {
            report.lines.push(format!(
                "Telegram: a bot, through the Bot API at {}, its token from the environment \
                 variable {} ({} s per request)",
                telegram.api_url, telegram.token_env, telegram.timeout_seconds
            ));
            report.lines.push(format!(
                "  at most {}/s to all chats together, one message per {} ms to each chat; a \
                 chat that asks us to wait (429 retry_after) waits that long",
                telegram.rate_per_second, telegram.per_chat_interval_ms
            ));
            match telegram.webhook() {
                Ok(Some(webhook)) => report.lines.push(format!(
                    "  tocsin serve runs the bot's conversations: Telegram posts the updates to \
                     {} (webhook, proxied to /telegram/webhook), proven by the secret in {}",
                    webhook.url,
                    telegram.webhook_secret_env.as_deref().unwrap_or_default()
                )),
                Ok(None) => report.lines.push(format!(
                    "  tocsin serve runs the bot's conversations: long polling (getUpdates, \
                     {} s per poll)",
                    telegram.poll_timeout_seconds
                )),
                Err(problem) => report.problems.push(problem),
            }
            // Whether it is set, never what it is.
            if let Err(problem) = telegram.token() {
                report.problems.push(problem);
            }
            for checked in [
                telegram.api_url().map(|_| ()),
                telegram.limits().map(|_| ()),
                telegram.poll_timeout().map(|_| ()),
            ] {
                if let Err(problem) = checked {
                    report.problems.push(problem);
                }
            }
        }
    }
    public_and_invites(telegram, report);
}

/// Where every update sent on Telegram is posted, and the links that invite people.
fn public_and_invites(telegram: &crate::config::TelegramConfig, report: &mut CheckReport) {
    match telegram.public_channels() {
        Ok(channels) if channels.is_empty() => report.lines.push(
            "  public channels: none ([telegram] public_channels); the bot's public followers \
             get every update sent on Telegram"
                .into(),
        ),
        Ok(channels) => {
            let list: Vec<String> = channels
                .iter()
                .map(|(language, chat)| format!("{} {chat}", language.code()))
                .collect();
            report.lines.push(format!(
                "  public channels: {} (each update sent on Telegram is posted there, a later \
                 one of its incident as a reply), and the bot's public followers",
                list.join(", ")
            ));
        }
        Err(problem) => report.problems.push(problem),
    }
    match telegram.bot_username() {
        Ok(Some(bot)) => report.lines.push(format!(
            "  invitations: e-mails to patients and GPs without Telegram carry a personal link \
             https://t.me/{bot}?start=… valid {} days{}",
            telegram.link_valid_days,
            if telegram.invite_in_sms {
                "; SMS too (it costs SMS parts: update draft counts them)"
            } else {
                "; not in SMS (invite_in_sms = false)"
            }
        )),
        Ok(None) => report
            .lines
            .push("  invitations: none (no [telegram] bot_username)".into()),
        Err(problem) => report.problems.push(problem),
    }
}

fn gateway_lines(
    config: &Config,
    number: usize,
    gateway: &GatewayConfig,
    report: &mut CheckReport,
) {
    let name = gateway.name().to_string();
    let rate = config
        .sms
        .rates
        .get(&name)
        .map_or("no rate limit".to_string(), |rate| {
            format!("{rate}/s (bursts of {})", config.sms.rate_burst)
        });
    let settings = gateway.settings();
    let receipt_secret = config.serve.receipt_secret().is_some();
    let description = settings.describe(&name, receipt_secret, &mut report.problems);
    let receipts = settings.receipts();
    let secret_check = settings.check_secret(&name);
    report
        .lines
        .push(format!("  {number}. {name}: {description}, {rate}"));
    report.lines.push(match receipts {
        Some(receipts) => format!(
            "     delivery receipts: {receipts} (tocsin serve must run; an SMS without one after \
             fallback_after_minutes falls back)"
        ),
        None => "     delivery receipts: none asked (an SMS it takes counts as reached)".into(),
    });
    if let Err(error) = secret_check {
        report.problems.push(error);
    }
}

fn policy(config: &Config, report: &mut CheckReport) {
    report
        .lines
        .push("Channel policy (an update's channels can only narrow it):".into());
    for (audience, label) in [
        (Audience::Patients, "patients"),
        (Audience::Gps, "GPs (gps-of-affected, all-gps)"),
        (Audience::Media, "media"),
    ] {
        let policy = config.policy.for_audience(audience);
        let channels: Vec<String> = policy.channels.iter().map(ToString::to_string).collect();
        let mode = match policy.mode {
            PolicyMode::All => "every channel they have an address for",
            PolicyMode::First => "the first channel they have an address for",
        };
        let fallback = config.policy.fallback(audience);
        let fallback = if fallback.is_empty() {
            "no fallback".to_string()
        } else {
            let channels: Vec<String> = fallback.iter().map(ToString::to_string).collect();
            let silence = if policy.fallback_after_minutes == 0 {
                String::new()
            } else {
                format!(
                    " (or has no receipt after {} min)",
                    policy.fallback_after_minutes
                )
            };
            format!(
                "an SMS that fails{silence} falls back to {}",
                channels.join(", ")
            )
        };
        report.lines.push(format!(
            "  {label}: {} ({mode}); {fallback}",
            channels.join(", ")
        ));
    }
    let fields: Vec<String> = config
        .gp_alert
        .patient_fields
        .iter()
        .map(|field| {
            match field {
                PatientField::Name => "name",
                PatientField::Initials => "initials",
                PatientField::BirthDate => "birth_date",
                PatientField::Appointment => "appointment",
            }
            .to_string()
        })
        .collect();
    report.lines.push(format!(
        "  a GP's alert lists each affected patient with: {}",
        fields.join(", ")
    ));
}

fn hospital(config: &Config, report: &mut CheckReport) {
    let hospital = &config.hospital;
    let placeholders = config.placeholders();
    let mark = |section: &str, key: &str| {
        if placeholders
            .iter()
            .any(|placeholder| placeholder.section == section && placeholder.key == key)
        {
            "   <- example value: set it"
        } else {
            ""
        }
    };
    report
        .lines
        .push("Hospital details in every message:".into());
    for (key, label, value) in [
        ("name", "name", &hospital.name),
        (
            "short_name",
            "short name (signs each SMS)",
            &hospital.short_name,
        ),
        ("phone", "phone for patients", &hospital.phone),
        ("press_phone", "phone for the press", &hospital.press_phone),
        ("website", "website", &hospital.website),
    ] {
        report
            .lines
            .push(format!("  {label}: {value}{}", mark("hospital", key)));
    }
    report.lines.push(format!(
        "  e-mail sender: {}{}",
        config.email.from,
        mark("email", "from")
    ));
    let campuses: Vec<String> = hospital
        .campus_languages
        .iter()
        .map(|(campus, language)| format!("{campus} {language}"))
        .collect();
    report.lines.push(format!(
        "  times in {}; campus languages: {}; otherwise {}",
        hospital.timezone,
        campuses.join(", "),
        hospital.default_language
    ));
    for placeholder in placeholders {
        report.problems.push(placeholder.to_string());
    }
}

fn serve(config: &Config, report: &mut CheckReport) {
    let secret = config.serve.receipt_secret();
    report.lines.push(format!(
        "Receipts (tocsin serve): listens on {}, receipt secret {}",
        config.serve.bind,
        if secret.is_some() { "set" } else { "not set" }
    ));
    if secret.is_none() && !config.sms.receipt_gateways().is_empty() {
        report.warnings.push(
            "gateways are asked for delivery receipts, but no receipt secret is set: tocsin \
             serve refuses to start without TOCSIN_RECEIPT_SECRET or [serve] receipt_secret"
                .into(),
        );
    }
}

fn console(config: &Config, report: &mut CheckReport) {
    let console = &config.console;
    report.lines.push(format!(
        "Console (tocsin serve): /console on {}; sessions last {} h, setup links {} h; \
         sign-in slowed after {} failures for a name from one address; session cookie {}; {}",
        config.serve.bind,
        console.session_hours,
        console.setup_link_hours,
        console.login_attempts_before_delay,
        if console.secure_cookies {
            "Secure (HTTPS only: put serve behind a TLS proxy)"
        } else {
            "NOT Secure (sent over plain HTTP)"
        },
        if console.trusted_proxies.is_empty() {
            "no trusted proxy: a browser's address is its connection's".to_string()
        } else {
            let proxies: Vec<String> = console
                .trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect();
            format!(
                "from the trusted proxies {}, a browser's address is read from X-Forwarded-For",
                proxies.join(", ")
            )
        }
    ));
    report.problems.extend(console.problems());
    let loopback = config
        .serve
        .bind
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|address| address.ip().is_loopback());
    if !console.secure_cookies && !loopback {
        report.warnings.push(format!(
            "[console] secure_cookies = false while serve listens on {}: anyone on the network \
             path can read a session cookie and act as its user",
            config.serve.bind
        ));
    }
}

fn press(config: &Config, report: &mut CheckReport) {
    let checked =
        press::public_url(config).and_then(|url| Ok((press::cap_sender(config, &url)?, url)));
    match checked {
        Ok((sender, url)) => report.lines.push(format!(
            "Press room: pages and feeds for {url} (tocsin serve answers them, tocsin press \
             export DIR writes them), CAP alerts from {sender}, kept {} s by readers and caches",
            config.press.cache_seconds
        )),
        Err(error) => report.problems.push(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLETE: &str = r#"
[hospital]
name = "Algemeen Ziekenhuis Testwijk"
short_name = "AZT"
phone = "+32 3 555 12 12"
press_phone = "+32 3 555 12 13"
website = "https://crisis.azt-testwijk.be"
[email]
from = "Crisiscel AZT <crisis@azt-testwijk.be>"
[sms]
transport = "gateways"
[[sms.gateways]]
kind = "kannel"
base_url = "http://127.0.0.1:13013"
username = "tocsin"
password_env = "TOCSIN_CHECK_TEST_UNSET_VARIABLE"
from = "AZT"
[[sms.gateways]]
kind = "twilio"
account_sid = "AC1"
auth_token = "secret"
from = "+32471000000"
status_callback = "https://tocsin.azt-testwijk.be/receipts/twilio"
[sms.rates]
twilio = 10
"#;

    #[test]
    fn a_postgresql_database_is_shown_without_its_password_and_an_unknown_one_refuses() {
        let mut config = Config::parse(COMPLETE, "COMPLETE").expect("complete");
        let on_sqlite = check(&config).problems;
        config.database_url = "postgres://tocsin:s3cret@db.example.be:5432/tocsin".into();
        let text = check(&config).to_text();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("Database: postgres://tocsin:***@db.example.be:5432/tocsin (PostgreSQL"),
            "{text}"
        );
        assert_eq!(
            check(&config).problems,
            on_sqlite,
            "PostgreSQL is no problem"
        );

        config.database_url = "mysql://tocsin:s3cret@db.example.be/tocsin".into();
        let report = check(&config);
        assert!(!report.to_text().contains("s3cret"));
        let refused = "database_url mysql://tocsin:***@db.example.be/tocsin: neither \
                       sqlite://FILE nor postgres://USER@HOST/DATABASE";
        assert_eq!(
            report.problems,
            [vec![refused.to_string()], on_sqlite].concat()
        );
    }

    #[test]
    fn the_defaults_are_named_as_placeholders_and_refuse() {
        let report = check(&Config::default());
        let text = report.to_text();
        for key in [
            "[hospital] name",
            "[hospital] short_name",
            "[hospital] phone",
            "[hospital] press_phone",
            "[hospital] website",
            "[email] from",
        ] {
            assert!(
                report.problems.iter().any(|problem| problem.contains(key)),
                "{key} not named: {text}"
            );
        }
        assert!(text.contains("Configuration: none found"), "{text}");
        assert!(text.contains("nothing leaves this machine"), "{text}");
    }

    #[test]
    fn the_console_is_described_and_unusable_durations_or_clear_cookies_on_the_network_said() {
        let config = Config::parse(COMPLETE, "t.toml").expect("valid");
        let text = check(&config).to_text();
        assert!(
            text.contains("sessions last 12 h, setup links 72 h")
                && text.contains("session cookie Secure")
                && text.contains("no trusted proxy: a browser's address is its connection's"),
            "{text}"
        );
        let proxied =
            format!("{COMPLETE}\n[console]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n");
        let text = check(&Config::parse(&proxied, "t.toml").expect("valid")).to_text();
        assert!(
            text.contains(
                "from the trusted proxies 127.0.0.1, ::1, a browser's address is read from \
                 X-Forwarded-For"
            ),
            "{text}"
        );
        let open = format!(
            "{COMPLETE}\n[serve]\nbind = \"0.0.0.0:8080\"\n[console]\nsession_hours = 0\n\
             secure_cookies = false\n"
        );
        let report = check(&Config::parse(&open, "t.toml").expect("valid"));
        assert!(
            report
                .problems
                .iter()
                .any(|problem| problem.contains("session_hours = 0")),
            "{:?}",
            report.problems
        );
        assert!(
            report.warnings.iter().any(|warning| warning
                .contains("secure_cookies = false while serve listens on 0.0.0.0:8080")),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn a_telegram_bot_is_described_with_its_limits_and_its_token_checked_but_never_shown() {
        let bot = format!(
            "{COMPLETE}\n[telegram]\ntransport = \"bot\"\ntoken_env = \"TOCSIN_CHECK_TEST_TELEGRAM\"\n\
             api_url = \"http://127.0.0.1:8081\"\nrate_per_second = 25\n"
        );
        let config = Config::parse(&bot, "t.toml").expect("valid");
        let report = check(&config);
        let text = report.to_text();
        assert!(
            text.contains("Telegram: a bot, through the Bot API at http://127.0.0.1:8081")
                && text.contains("TOCSIN_CHECK_TEST_TELEGRAM")
                && text.contains("at most 25/s to all chats together, one message per 1000 ms"),
            "{text}"
        );
        assert!(
            report
                .problems
                .iter()
                .any(|problem| problem.contains("TOCSIN_CHECK_TEST_TELEGRAM")),
            "{text}"
        );
        std::env::set_var("TOCSIN_CHECK_TEST_TELEGRAM", "4242:AAHnever-shown");
        let report = check(&config);
        let text = report.to_text();
        assert!(!text.contains("never-shown"), "{text}");
        assert!(
            !report
                .problems
                .iter()
                .any(|problem| problem.contains("[telegram]")),
            "{text}"
        );
    }

    #[test]
    fn the_press_room_is_described_and_a_wrong_public_url_or_cap_sender_refused() {
        let config = Config::parse(COMPLETE, "t.toml").expect("valid");
        let text = check(&config).to_text();
        assert!(
            text.contains("Press room: pages and feeds for https://crisis.azt-testwijk.be/")
                && text.contains("CAP alerts from crisis.azt-testwijk.be"),
            "{text}"
        );
        let wrong = format!("{COMPLETE}\n[press]\npublic_url = \"status.azt.be\"\n");
        let report = check(&Config::parse(&wrong, "t.toml").expect("valid"));
        assert!(
            report.problems.iter().any(|problem| problem
                .contains("[press] public_url \"status.azt.be\" is not an absolute URL")),
            "{:?}",
            report.problems
        );
        let about_the_address = report
            .problems
            .iter()
            .filter(|problem| problem.contains("status.azt.be"))
            .count();
        assert_eq!(about_the_address, 1, "said once: {:?}", report.problems);
        let website = COMPLETE.replace("https://crisis.azt-testwijk.be", "crisis.azt-testwijk.be");
        let report = check(&Config::parse(&website, "t.toml").expect("valid"));
        assert!(
            report.problems.iter().any(|problem| problem
                .starts_with("[hospital] website (the press room's address while [press] public_url is unset) \"crisis.azt-testwijk.be\" is not an absolute URL")),
            "{:?}",
            report.problems
        );
        let wrong = format!("{COMPLETE}\n[press]\ncap_sender = \"AZ Testwijk, crisiscel\"\n");
        let report = check(&Config::parse(&wrong, "t.toml").expect("valid"));
        assert!(
            report
                .problems
                .iter()
                .any(|problem| problem.contains("cap_sender \"AZ Testwijk, crisiscel\" must not")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn gateways_are_listed_in_order_with_their_receipts_and_missing_secrets() {
        let config = Config::parse(COMPLETE, "t.toml").expect("valid");
        let report = check(&config);
        let text = report.to_text();
        let kannel = text
            .find("1. kannel: kannel http://127.0.0.1:13013")
            .expect(&text);
        let twilio = text.find("2. twilio: twilio").expect(&text);
        assert!(kannel < twilio, "{text}");
        assert!(text.contains("delivery receipts: none asked"), "{text}");
        assert!(
            text.contains("status_callback https://tocsin.azt-testwijk.be/receipts/twilio"),
            "{text}"
        );
        assert!(text.contains("10/s (bursts of 1)"), "{text}");
        assert_eq!(
            report.problems,
            ["gateway kannel: password: the environment variable \
              TOCSIN_CHECK_TEST_UNSET_VARIABLE is not set"],
            "{text}"
        );
        assert!(text.contains("patients: sms, email, telegram"), "{text}");
        assert!(text.contains("falls back to email"), "{text}");
    }

    #[test]
    fn check_names_the_hospitals_own_templates_and_phrases_and_refuses_a_broken_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let templates = dir.path().join("templates");
        let locales = dir.path().join("locales");
        std::fs::create_dir_all(templates.join("sms")).expect("mkdir");
        std::fs::create_dir_all(&locales).expect("mkdir");
        std::fs::write(
            templates.join("sms/media.txt.tera"),
            "{{ phrases.sms_sender }} {{ update.sms }}",
        )
        .expect("write");
        std::fs::write(
            locales.join("names.toml"),
            "[departments.memory]\nnl = \"geheugenkliniek\"\nfr = \"clinique de la mémoire\"\n\
             en = \"Memory Clinic\"\n",
        )
        .expect("write");
        let mut config = Config::parse(COMPLETE, "t.toml").expect("valid");
        config.templates_dir = Some(templates.clone());
        config.locales_dir = Some(locales.clone());
        let text = check(&config).to_text();
        assert!(
            text.contains("Templates and phrases: the built-in ones, except these"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "  {}\n",
                templates.join("sms/media.txt.tera").display()
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("  {}\n", locales.join("names.toml").display())),
            "{text}"
        );

        assert!(
            !text.contains("UCS-2"),
            "the built-in wording keeps SMS in GSM-7: {text}"
        );
        std::fs::write(
            templates.join("sms/media.txt.tera"),
            "{{ phrases.sms_sender }} {{ update.sms }} – {{ phrases.sms_media_contact }}",
        )
        .expect("write");
        let text = check(&config).to_text();
        assert!(
            text.contains(
                "the nl SMS to media travels as UCS-2 (70 characters a part instead of 160) \
                 because of \"–\""
            ),
            "{text}"
        );

        std::fs::write(templates.join("sms/media.txt.tera"), "{{ update.smss }}").expect("write");
        let report = check(&config);
        let problem = report
            .problems
            .iter()
            .find(|problem| problem.starts_with("templates and phrases"))
            .unwrap_or_else(|| panic!("not refused: {}", report.to_text()));
        assert!(
            problem.contains(&templates.join("sms/media.txt.tera").display().to_string())
                && problem.contains("smss"),
            "{problem}"
        );

        let report = check(&Config::default());
        assert!(
            report
                .to_text()
                .contains("Templates and phrases: the built-in ones\n"),
            "{}",
            report.to_text()
        );
    }
}
