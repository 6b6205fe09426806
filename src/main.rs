//! The command line: parses, calls the library, prints.

use anyhow::{Context, Result};

/// Rendering and planning allocate many small strings on every core; glibc's allocator
/// serialises them, mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tocsin::app::{Actor, App, AppError, ImportKind, NewCredential, Refusal, Sample};
use tocsin::author::DraftOptions;
use tocsin::channels::sms::gsm;
use tocsin::config::Config;
use tocsin::dispatch::{RunEnd, Tally};
use tocsin::domain::{check_password, ChannelKind, DeliveryState, Language, UpdateState, UserRole};
use tocsin::plan::Forecast;
use tocsin::render::{cli_language, CliText};
use tocsin::report::UnreachedFilter;
use tocsin::spreadsheet::Separator;
use tocsin::store::{RetryFilter, StoreError};
use tocsin::web::Server;

/// Like the standard `print!`, which panics when stdout's reader has gone (`tocsin … | head`):
/// this one ends the program quietly then, since the rest of the output has no one to read
/// it. It shadows the standard macro in this file, so every line printed here goes through it.
macro_rules! print {
    ($($arg:tt)*) => {
        write_stdout(format_args!($($arg)*))
    };
}

/// `println!` through [`print!`]'s handling of a reader that went away.
macro_rules! println {
    () => {
        write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// The command line's language, chosen once in `main`: held like stdout, so that the functions
/// that print need not each be handed it.
static TEXT: std::sync::OnceLock<CliText> = std::sync::OnceLock::new();

fn text() -> &'static CliText {
    TEXT.get().unwrap_or_else(|| CliText::english())
}

/// A sentence of `locales/<lang>/cli.ftl` in the command line's language:
/// `say!("approved", id = id.to_string(), by = by.as_str())`. Numbers given as numbers are
/// grouped as the language writes them; ids are given as text.
macro_rules! say {
    ($id:literal) => {
        text().say($id, &[])
    };
    ($id:literal, $($name:ident = $value:expr),+ $(,)?) => {
        text().say(
            $id,
            &[$((stringify!($name), fluent_bundle::FluentValue::from($value))),+],
        )
    };
}

/// After the options of `tocsin --help`: what the options do not say.
const MORE_HELP: &str = "\
Audiences (an update file's `audiences`, `tocsin audience show`):
  \"patients from=YYYY-MM-DD to=YYYY-MM-DD campus=NAME department=NAME\"
                    patients with a booked appointment matching every condition given
                    (days in the hospital's time zone, both ends included; any condition
                    may be left out; `_` stands for a space in a name)
  gps-of-affected   the GPs of those patients, each once, with their affected patients
  all-gps           every GP
  media             the press list

Contacts (`--contact`, `optout add`, an opt-out list's `contact`): the export's id, bare
(this hospital's patient number first; any other id only when it names one contact) or
with its kind: patient:P001234, riziv:12345678004, media:M001, fhir:SYSTEM|VALUE; else an
e-mail address or phone number; else Tocsin's own id (id:12 for that alone).

Environment:
  TOCSIN_DATABASE_URL    the database, like --database (which wins) and database_url
  TOCSIN_LOG             what goes to stderr: warn (the default), info, debug, or a filter
                         such as tocsin=debug
  TOCSIN_SMTP_PASSWORD   the SMTP password, when [email] smtp_url names a user
  TOCSIN_RECEIPT_SECRET  signs Kannel's delivery-report URLs, instead of
                         [serve] receipt_secret
  a gateway's *_env      the variable its password_env, auth_token_env, api_secret_env or
                         signature_secret_env names holds that secret
  NO_COLOR               no colours in the log, even on a terminal
  TOCSIN_LANG            the language of these commands' own sentences: nl, fr or en
                         (default: the system locale, LC_ALL, LC_MESSAGES or LANG; else en)

Exit codes: 0 done; 1 an error (one line on stderr, `error: …`); 2 a bad argument;
`update send` and `update retry`: 3 when some deliveries ended failed, undeliverable or
uncertain, 4 when the run stopped (a channel to fix, or a halt).

Every key of the configuration is described in tocsin.example.toml.";

#[derive(Parser)]
#[command(
    name = "tocsin",
    version,
    about = "Crisis updates to every patient, GP and journalist, in their language",
    after_help = MORE_HELP
)]
struct Cli {
    /// Configuration file (default: tocsin.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL, e.g. sqlite://tocsin.db or postgres://tocsin@db.example.be/tocsin (default: database_url in the configuration).
    /// Only `import` and `demo` create a database; every other command but `check` needs one
    /// that exists.
    #[arg(long, global = true, env = "TOCSIN_DATABASE_URL", value_name = "URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the whole pipeline on a synthetic hospital day, with file outboxes.
    Demo {
        /// Where the demo's database and outboxes go: a new or empty directory, or one an
        /// earlier demo made (it is cleared).
        #[arg(long, default_value = "tocsin-demo")]
        dir: PathBuf,
        /// How many patients the synthetic day has.
        #[arg(long, default_value_t = 2_000)]
        patients: usize,
    },
    /// Authoring, approval, preview and sending of updates.
    #[command(subcommand)]
    Update(UpdateCommand),
    /// Where every delivery of an update stands.
    Status {
        /// The update's id (see `tocsin update list`).
        id: i64,
        /// Prints JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Lists for follow-up by phone.
    #[command(subcommand)]
    Export(ExportCommand),
    /// The press room: every released update on public pages and feeds.
    #[command(subcommand)]
    Press(PressCommand),
    /// Contacts and appointments from the hospital's exports.
    #[command(subcommand)]
    Import(ImportCommand),
    /// A contact's wish not to be reached on a channel.
    #[command(subcommand)]
    Optout(OptoutCommand),
    /// Who a selection reaches.
    #[command(subcommand)]
    Audience(AudienceCommand),
    /// Receives the SMS gateways' delivery receipts ([serve] bind) and sends the updates
    /// being sent, until Ctrl-C or SIGTERM (the sends in flight finish first).
    Serve {
        /// Sends nothing: receipts, press room and console only, for instances behind a load
        /// balancer while `tocsin worker`s send.
        #[arg(long)]
        no_dispatch: bool,
    },
    /// Sends the updates being sent and starts the scheduled ones, as `serve` does, without
    /// its HTTP side: any number of workers and serve instances share one database. Until
    /// Ctrl-C or SIGTERM: what it claimed and had not begun goes back to the others, the sends
    /// in flight finish.
    Worker,
    /// Brings the database's schema up to date (every other command does it too when it
    /// opens the database) and says its version. The database must exist.
    Migrate,
    /// Prints what the configuration will do (database, channels, SMS gateways, channel
    /// policy, hospital details) and what is missing; fails when tocsin would refuse to send.
    Check,
    /// The console's accounts: author, approver, admin.
    #[command(subcommand)]
    User(UserCommand),
    /// The audit log: who did what, when and from where, in the console and these commands.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds an account. The password is asked twice (without echo), or read from the first
    /// line of standard input when it is not a terminal; with --setup-link, a one-time setup
    /// token is printed instead, for the person to choose their own.
    Add {
        /// The name they sign in with: a to z, digits, '.', '-', '_' (kept in lower case).
        name: String,
        /// author (writes updates), approver (writes, and approves others' updates) or admin
        /// (manages the accounts).
        #[arg(long)]
        role: UserRole,
        /// Prints a one-time setup token ([console] setup_link_hours) instead of asking for
        /// a password.
        #[arg(long)]
        setup_link: bool,
        /// Their own e-mail address: where the console's "send me a test" sends.
        #[arg(long)]
        email: Option<String>,
        /// Their own mobile number, for "send me a test" by SMS.
        #[arg(long)]
        phone: Option<String>,
    },
    /// Sets an account's own e-mail address and mobile number ("send me a test").
    Set {
        /// The account's name.
        name: String,
        /// The user's own e-mail address, where "send me a test" sends.
        #[arg(long)]
        email: Option<String>,
        /// The user's own mobile number, where "send me a test" sends an SMS.
        #[arg(long)]
        phone: Option<String>,
    },
    /// Lists the accounts, their roles and whether they are disabled.
    List,
    /// Disables an account: it can no longer sign in, and its sessions end now.
    Disable {
        /// The account's name.
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Writes the audit log, newest first, to a CSV file.
    Export {
        /// From this day on (YYYY-MM-DD, in the hospital's time zone).
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        /// Only this user's actions.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// The CSV file to write.
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
        /// The CSV's separator: ';' (the default, as Belgian Excel opens a CSV), ',' or tab.
        #[arg(long, default_value_t = Separator::Semicolon)]
        separator: Separator,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// The scheduling system's appointments export (CSV).
    Appointments(ImportArgs),
    /// A FHIR R4 Bundle or NDJSON file (Patient, Practitioner, Appointment, …).
    Fhir(ImportArgs),
    /// The GP list (CSV).
    Gps(ImportArgs),
    /// The press list (CSV).
    Media(ImportArgs),
    /// An opt-out list (CSV: contact, channel, reason).
    Optouts(ImportArgs),
    /// Records an import did not merge: they carry the id of a known contact but another
    /// name and birth date (or role). Lists the open ones; --accept or --reject decides one.
    Conflicts {
        /// The same person: merge the record into the contact and import its appointments.
        #[arg(long, value_name = "ID", conflicts_with = "reject")]
        accept: Option<i64>,
        /// Not the same person: nothing of the record is imported (correct the export).
        #[arg(long, value_name = "ID")]
        reject: Option<i64>,
        /// Lists the decided conflicts too.
        #[arg(long)]
        all: bool,
        /// Who decides (default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The export to read.
    file: PathBuf,
    /// Where rejected records, and records kept without a field, go (default:
    /// FILE.rejects.csv).
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// The rejects file's separator: ';' (the default, as Belgian Excel opens a CSV), ','
    /// or tab.
    #[arg(long, default_value_t = Separator::Semicolon)]
    separator: Separator,
}

#[derive(Subcommand)]
enum OptoutCommand {
    /// Stops messages on a channel to a contact (by the export's id, e-mail, phone or id).
    Add {
        /// The contact: the export's id (P001234, riziv:12345678004, see "Contacts" in
        /// `tocsin --help`), e-mail address, phone or Tocsin's id.
        contact: String,
        /// email, sms or telegram.
        #[arg(long)]
        channel: ChannelKind,
        /// Why, as the contact said it (kept with the opt-out).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lifts an opt-out.
    Remove {
        /// The contact: the export's id, e-mail address, phone or Tocsin's id.
        contact: String,
        /// email, sms or telegram.
        #[arg(long)]
        channel: ChannelKind,
    },
}

#[derive(Subcommand)]
enum AudienceCommand {
    /// Counts a selection by language and reachable channel, e.g.
    /// `tocsin audience show "patients from=2026-01-13 to=2026-01-14 campus=Deurne" gps-of-affected`.
    Show {
        /// One or more selections (see "Audiences" in `tocsin --help`).
        #[arg(required = true, value_name = "AUDIENCE")]
        specs: Vec<String>,
        /// Prints JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UpdateCommand {
    /// Checks an update file and stores it as a draft.
    Draft {
        /// The update file (TOML; see examples/).
        file: PathBuf,
        /// The author (else the file's `author`); once Tocsin has accounts, the name of an
        /// author's or approver's account.
        #[arg(long)]
        by: Option<String>,
        /// Replace each SMS text by the proposed GSM-7 version.
        #[arg(long)]
        sms_gsm7: bool,
    },
    /// Approves a draft; the approver may not be its author.
    Approve {
        /// The draft's id.
        id: i64,
        /// Who approves: not the author; once Tocsin has accounts, an approver's account.
        #[arg(long)]
        by: String,
    },
    /// Prints exactly what a contact receives (without --contact or --language: the first
    /// contact of each audience).
    Preview {
        /// The update's id.
        id: i64,
        /// The contact: the export's id (P001234, riziv:12345678004, see "Contacts" in
        /// `tocsin --help`), e-mail address, phone number or Tocsin's id (default: the first
        /// contact of each audience).
        #[arg(long, conflicts_with = "language")]
        contact: Option<String>,
        /// The first contact of each audience who is written to in this language (nl, fr, en).
        #[arg(long)]
        language: Option<Language>,
        /// Only this channel: email, sms or telegram (default: every channel).
        #[arg(long)]
        channel: Option<ChannelKind>,
    },
    /// Sends a draft back to its author with a comment; it stays a draft (four eyes: not by
    /// its author).
    Return {
        /// The draft's id.
        id: i64,
        /// Who sends it back: not the author; once Tocsin has accounts, an approver's account.
        #[arg(long)]
        by: String,
        /// What the author should change.
        #[arg(long)]
        comment: String,
    },
    /// Plans and sends an approved update, and tracks it until every delivery is final.
    /// Sending a paused update again resumes the deliveries its stopped run held back.
    /// With --at, only marks it for `tocsin serve` or a `tocsin worker` to start then.
    Send {
        /// The approved (or paused) update's id.
        id: i64,
        /// When `tocsin serve` or a `tocsin worker` is to start it, in the hospital's time zone: "2026-12-01 09:30".
        #[arg(long)]
        at: Option<String>,
        /// Who asks, with --at (kept in the update's log; default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Pauses an update being sent: what has not left waits, until `update resume`.
    Pause {
        /// The update's id.
        id: i64,
        /// Who asks (kept in the update's log; default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Lifts a pause: `tocsin serve` sends what was held (or `tocsin update send ID`).
    Resume {
        /// The update's id.
        id: i64,
        /// Who asks (kept in the audit log; default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Sends again, at your request, deliveries that ended failed, undeliverable or uncertain
    /// (and any a stopped run held back), then sends like `send`.
    Retry {
        /// The update's id.
        id: i64,
        /// Only this channel (email, sms, telegram).
        #[arg(long)]
        channel: Option<ChannelKind>,
        /// Which final states to send again, comma-separated: failed, undeliverable,
        /// uncertain (uncertain ones may reach their recipient twice).
        #[arg(
            long = "state",
            value_delimiter = ',',
            default_value = "failed,undeliverable"
        )]
        states: Vec<DeliveryState>,
        /// Only those whose last error contains this text (ignoring case), e.g. "21211".
        #[arg(long)]
        reason: Option<String>,
        /// Who asks (kept in the update's log; default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Plans the fallback channel now for the SMS that did not reach their contact, an SMS
    /// still without a delivery receipt included (it does not wait for the policy's
    /// `fallback_after_minutes`); `tocsin serve` or `update send` sends them.
    Fallback {
        /// The update's id (being sent or sent).
        id: i64,
    },
    /// Stops a running or approved update: what has not left is cancelled, a running `send`
    /// stops within a second, and `serve` does not resume it.
    Halt {
        /// The update's id.
        id: i64,
        /// Who asks (kept in the update's log; default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Discards a draft: it will never be sent.
    Discard {
        /// The draft's id.
        id: i64,
        /// Who asks (kept in the update's log; default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Takes back the approval of an update that has not started sending: it is a draft again.
    Revoke {
        /// The approved update's id.
        id: i64,
        /// Who asks (kept in the update's log; default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Lists the updates.
    List,
    /// Writes a new update file to fill in: from an incident playbook, or following an
    /// earlier update (its texts, audiences and channels).
    #[command(group(clap::ArgGroup::new("from").required(true).args(["playbook", "follow"])))]
    New {
        /// The playbook: cyberattack, it-outage, power-cut or evacuation (see `tocsin update
        /// playbooks`).
        #[arg(long, value_name = "NAME")]
        playbook: Option<String>,
        /// The update to follow: its id, or an incident's name for its latest update.
        #[arg(long, value_name = "ID")]
        follow: Option<String>,
        /// Where to write it: a new file, never overwritten (default: standard output).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Lists the incident playbooks `update new --playbook` starts from.
    Playbooks,
}

#[derive(Subcommand)]
enum ExportCommand {
    /// The contacts no channel reached, for the call centre.
    Unreached {
        /// The update's id.
        id: i64,
        /// The CSV file to write.
        #[arg(long)]
        csv: PathBuf,
        /// Only contacts with a delivery on this channel (email, sms, telegram) …
        #[arg(long)]
        channel: Option<ChannelKind>,
        /// … in this state (failed, undeliverable, uncertain, skipped, cancelled) …
        #[arg(long)]
        state: Option<DeliveryState>,
        /// … whose error or reason contains this text (ignoring case), e.g. "5.1.1".
        #[arg(long)]
        reason: Option<String>,
        /// The CSV's separator: ';' (the default, as Belgian Excel opens a CSV), ',' or tab.
        #[arg(long, default_value_t = Separator::Semicolon)]
        separator: Separator,
    },
}

#[derive(Subcommand)]
enum PressCommand {
    /// Writes the public pages and feeds as files into DIR, with relative links, to upload
    /// to any static host or CDN when `tocsin serve` cannot be reached from outside. Run it
    /// again after every release: it rewrites only what changed.
    Export {
        /// The folder to write (made if missing). Files tocsin did not write there are left
        /// alone; those it wrote that the press room no longer has are removed.
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOCSIN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    let cli = Cli::parse();
    choose_language();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            let message = say!("error-runtime", reason = error.to_string());
            eprintln!("{}", say!("error-line", message = message));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{}", say!("error-line", message = describe(&error)));
            ExitCode::FAILURE
        }
    }
}

/// The CLI's language from `TOCSIN_LANG` or the system locale; an unknown `TOCSIN_LANG` is
/// warned about in English, the language then used.
fn choose_language() {
    let (language, unknown) = cli_language(|name| std::env::var(name).ok());
    match CliText::load(language) {
        Ok(text) => {
            let _ = TEXT.set(text);
        }
        // Built in and checked by a test: only a broken build gets here, and English works.
        Err(error) => tracing::error!(message = "the CLI's sentences do not load", %error),
    }
    if let Some(unknown) = unknown {
        eprintln!("{}", say!("warning-unknown-language", value = unknown.0));
    }
}

fn write_stdout(text: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(error) = std::io::stdout().lock().write_fmt(text) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        let message = say!("error-stdout", reason = error.to_string());
        eprintln!("{}", say!("error-line", message = message));
        std::process::exit(1);
    }
}

/// One line for a person: each cause once, without a backtrace (the errors that reach
/// here are for the user to fix, not ours), in the CLI's language where [`translated`] knows
/// the error.
fn describe(error: &anyhow::Error) -> String {
    let mut message = String::new();
    let mut told_source = false;
    for cause in error.chain() {
        if std::mem::take(&mut told_source) {
            continue;
        }
        let text = match translated(cause) {
            Some((text, with_source)) => {
                told_source = with_source;
                text
            }
            None => cause.to_string(),
        };
        if message.contains(&text) {
            continue;
        }
        message = if message.is_empty() {
            text
        } else {
            say!("error-cause", message = message, cause = text)
        };
    }
    message
}

/// The errors a spokesperson meets most, in the CLI's language, and whether the text tells
/// the cause's own source too (then the chain's next link is not repeated). Others keep the
/// library's English text.
fn translated(cause: &(dyn std::error::Error + 'static)) -> Option<(String, bool)> {
    use tocsin::domain::ApprovalError;
    let approval = |error: &ApprovalError| {
        tocsin::app::approval_refusal(error).map(|refusal| refusal.say(text()))
    };
    let store = |error: &StoreError| match error {
        StoreError::NotFound(what) => {
            let id: i64 = what.strip_prefix("update ")?.parse().ok()?;
            Some(say!("error-update-not-found", id = id.to_string()))
        }
        _ => None,
    };
    if let Some(error) = cause.downcast_ref::<StoreError>() {
        return store(error).map(|text| (text, false));
    }
    if let Some(error) = cause.downcast_ref::<ApprovalError>() {
        return approval(error).map(|text| (text, false));
    }
    if let Some(refusal) = cause.downcast_ref::<Refusal>() {
        return Some((refusal.say(text()), false));
    }
    let error = cause.downcast_ref::<AppError>()?;
    if let Some(refusal) = error.refusal() {
        return Some((refusal.say(text()), false));
    }
    let text = match error {
        AppError::Store(error) => store(error)?,
        AppError::Account(refusal) => account_refusal(refusal),
        AppError::Read { path, source } => {
            let reason = io_reason(source);
            return Some((
                say!("error-read", path = path.as_str(), reason = reason),
                true,
            ));
        }
        AppError::Unreadable(unreadable) => say!(
            "error-unreadable",
            file = unreadable.file.as_str(),
            reason = unreadable.reason.as_str()
        ),
        AppError::Draft(draft) => {
            let mut text = say!("error-draft-not-stored", file = draft.file.as_str());
            text.push('\n');
            for problem in &draft.problems {
                text.push_str(&format!(
                    "  {}:{}:{}: {}\n",
                    draft.file, problem.line, problem.column, problem.message
                ));
            }
            text
        }
        AppError::Placeholders {
            action,
            placeholders,
            file,
        } => placeholders_text(action, placeholders, file.as_deref())?,
        _ => return None,
    };
    Some((text, false))
}

/// Four eyes by account refused a name, in the CLI's language.
fn account_refusal(refusal: &tocsin::domain::AccountRefusal) -> String {
    use tocsin::domain::{AccountRefusal, Action};
    let drafting = |action: &Action| *action == Action::Draft;
    match refusal {
        AccountRefusal::Unknown {
            name,
            action,
            known,
        } => {
            let known = if known.is_empty() {
                say!("foureyes-none-yet")
            } else {
                known.join(", ")
            };
            if drafting(action) {
                say!(
                    "foureyes-unknown-author",
                    name = name.as_str(),
                    known = known
                )
            } else {
                say!(
                    "foureyes-unknown-reviewer",
                    name = name.as_str(),
                    known = known
                )
            }
        }
        AccountRefusal::Disabled { name, action } if drafting(action) => {
            say!("foureyes-disabled-draft", name = name.as_str())
        }
        AccountRefusal::Disabled { name, .. } => {
            say!("foureyes-disabled-review", name = name.as_str())
        }
        AccountRefusal::Role(forbidden) => {
            let (name, role) = (forbidden.name.as_str(), forbidden.role.as_str());
            if drafting(&forbidden.action) {
                say!("foureyes-role-draft", name = name, role = role)
            } else {
                say!("foureyes-role-review", name = name, role = role)
            }
        }
        AccountRefusal::AuthorNotAccount { id, author } => say!(
            "foureyes-author-not-account",
            id = id.to_string(),
            author = author.as_str()
        ),
    }
}

/// Why a file cannot be read: the system's own words in English, ours in Dutch and French
/// for the usual reasons.
fn io_reason(error: &std::io::Error) -> String {
    if text().language() == Language::En {
        return error.to_string();
    }
    match error.kind() {
        std::io::ErrorKind::NotFound => say!("error-io-not-found"),
        std::io::ErrorKind::PermissionDenied => say!("error-io-permission"),
        std::io::ErrorKind::IsADirectory => say!("error-io-directory"),
        _ => error.to_string(),
    }
}

/// The actions `App::refuse_placeholders` names, and their sentence in `cli.ftl`.
const PLACEHOLDER_ACTIONS: &[(&str, &str)] = &[
    ("draft an update", "action-draft"),
    ("approve an update", "action-approve"),
    ("send an update", "action-send"),
    ("export the press room", "action-press-export"),
    ("run tocsin serve", "action-serve"),
    ("run tocsin worker", "action-worker"),
];

/// The refusal to go on with the example hospital details, in the CLI's language.
fn placeholders_text(
    action: &str,
    placeholders: &[tocsin::config::Placeholder],
    file: Option<&std::path::Path>,
) -> Option<String> {
    // An action this list does not know: the library's English text says it.
    let (_, id) = PLACEHOLDER_ACTIONS
        .iter()
        .find(|(english, _)| *english == action)?;
    let action = text().say(id, &[]);
    let file = match file {
        Some(file) => file.display().to_string(),
        None => say!("error-placeholders-no-file"),
    };
    let mut message = say!("error-placeholders", action = action, file = file);
    for placeholder in placeholders {
        let line = if placeholder.value.trim().is_empty() {
            say!(
                "error-placeholder-empty",
                section = placeholder.section,
                key = placeholder.key
            )
        } else {
            say!(
                "error-placeholder-example",
                section = placeholder.section,
                key = placeholder.key,
                value = placeholder.value.as_str()
            )
        };
        message.push_str(&format!("\n  {line}"));
    }
    message.push('\n');
    message.push_str(&say!("error-placeholders-check"));
    Some(message)
}

/// Names the database in an error that involves it (and does not name it already), so a
/// wrong `--database` shows.
fn name_database(error: anyhow::Error, url: &str) -> anyhow::Error {
    let involved = error.chain().any(|cause| {
        cause.is::<sqlx::Error>()
            || cause.is::<StoreError>()
            || matches!(cause.downcast_ref(), Some(AppError::Store(_)))
    });
    let shown = tocsin::check::without_password(url);
    if involved && !describe(&error).contains(&shown) {
        error.context(say!("error-database", url = shown))
    } else {
        error
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(database) = cli.database {
        config.database_url = database;
    }
    let database = config.database_url.clone();
    execute(cli.command, config)
        .await
        .map_err(|error| name_database(error, &database))
}

/// Completes at Ctrl-C (SIGINT) or SIGTERM, what a service manager or `kill` sends.
async fn stop_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(message = "SIGTERM cannot be caught: Ctrl-C only", %error);
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!(message = "stop requested");
}

async fn execute(command: Command, config: Config) -> Result<ExitCode> {
    match command {
        Command::Demo { dir, patients } => {
            let summary = tocsin::demo::run(&dir, patients, config).await?;
            print!("{summary}");
        }
        // The playbooks are compiled in: no database to open.
        Command::Update(UpdateCommand::Playbooks) => print!("{}", playbook_list()),
        Command::Update(command) => {
            return update(App::open_existing(config).await?, command).await
        }
        Command::Status { id, json } => {
            let app = App::open_existing(config).await?;
            let report = app.status(id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text_in("tocsin", text()));
            }
        }
        // An import may start a new database; every other command that opens one needs it to
        // exist, so that a mistyped path is not taken for an empty database.
        Command::Import(command) => import(App::open(config).await?, command).await?,
        Command::Serve { no_dispatch } => {
            let mut server = Server::bind(App::open_existing(config).await?).await?;
            if no_dispatch {
                server = server.without_dispatch();
            }
            let address = server.address().to_string();
            eprintln!("{}", say!("serve-receipts", address = address.as_str()));
            eprintln!("{}", say!("serve-press", address = address.as_str()));
            eprintln!("{}", say!("serve-console", address = address.as_str()));
            if no_dispatch {
                eprintln!("{}", say!("serve-no-dispatch"));
            }
            server.run(stop_requested()).await;
        }
        Command::Worker => {
            let app = App::open_existing(config).await?;
            eprintln!("{}", say!("worker-started"));
            let tally = app.work(stop_requested()).await?;
            eprintln!(
                "{}",
                say!(
                    "worker-stopped",
                    sent = tally.sent.load(std::sync::atomic::Ordering::Relaxed),
                    finished = tally.finished()
                )
            );
        }
        Command::Migrate => {
            let url = config.database_url.clone();
            let pool = tocsin::app::pool_settings(&config);
            let version = tocsin::store::migrate(&url, &pool).await?;
            println!(
                "{}",
                say!(
                    "migrate-done",
                    version = version.version,
                    description = version.description.as_str()
                )
            );
        }
        Command::Check => {
            let report = tocsin::check::check(&config);
            print!("{}", report.to_text_in(text()));
            if !report.problems.is_empty() {
                anyhow::bail!(say!("error-check-problems", count = report.problems.len()));
            }
        }
        Command::Optout(command) => {
            let app = App::open_existing(config).await?;
            match command {
                OptoutCommand::Add {
                    contact,
                    channel,
                    reason,
                } => {
                    let changed = app
                        .optout(&contact, channel, true, reason.as_deref())
                        .await?;
                    let (contact, channel) = (contact.as_str(), channel.to_string());
                    println!(
                        "{}",
                        if changed {
                            say!("optout-added", contact = contact, channel = channel)
                        } else {
                            say!("optout-already", contact = contact, channel = channel)
                        }
                    );
                }
                OptoutCommand::Remove { contact, channel } => {
                    let changed = app.optout(&contact, channel, false, None).await?;
                    let (contact, channel) = (contact.as_str(), channel.to_string());
                    println!(
                        "{}",
                        if changed {
                            say!("optout-removed", contact = contact, channel = channel)
                        } else {
                            say!("optout-not-there", contact = contact, channel = channel)
                        }
                    );
                }
            }
        }
        Command::Audience(AudienceCommand::Show { specs, json }) => {
            let summaries = App::open_existing(config).await?.audience(&specs).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summaries)?);
            }
            for summary in summaries.iter().filter(|_| !json) {
                println!(
                    "{}",
                    say!(
                        "audience-contacts",
                        spec = summary.spec.as_str(),
                        count = summary.contacts
                    )
                );
                let languages: Vec<String> = summary
                    .by_language
                    .iter()
                    .map(|(language, n)| format!("{language} {}", text().number(*n)))
                    .collect();
                println!(
                    "  {}",
                    say!("audience-by-language", list = languages.join(", "))
                );
                let channels: Vec<String> = summary
                    .reachable
                    .iter()
                    .map(|(channel, n)| format!("{channel} {}", text().number(*n)))
                    .collect();
                println!(
                    "  {}",
                    say!("audience-reachable", list = channels.join(", "))
                );
            }
        }
        Command::Export(ExportCommand::Unreached {
            id,
            csv,
            channel,
            state,
            reason,
            separator,
        }) => {
            let app = App::open_existing(config).await?;
            let filter = UnreachedFilter {
                channel,
                state,
                reason,
            };
            let file = std::fs::File::create(&csv)
                .with_context(|| say!("error-create", path = csv.display().to_string()))?;
            let actor = Actor::cli(&login_name());
            let written = app
                .unreached_csv(id, &filter, separator, file, &actor)
                .await?;
            println!(
                "{}",
                say!(
                    "export-unreached-written",
                    count = written,
                    file = csv.display().to_string()
                )
            );
        }
        Command::User(command) => accounts(config, command).await?,
        Command::Audit(AuditCommand::Export {
            since,
            user,
            csv,
            separator,
        }) => {
            let app = App::open_existing(config).await?;
            // The file first: an export that cannot be written is not logged as made.
            let file = std::fs::File::create(&csv)
                .with_context(|| say!("error-create", path = csv.display().to_string()))?;
            let entries = app
                .audit_log(since, user.as_deref(), &Actor::cli(&login_name()))
                .await?;
            app.audit_csv(&entries, file, separator)?;
            println!(
                "{}",
                say!(
                    "audit-written",
                    count = entries.len(),
                    file = csv.display().to_string()
                )
            );
        }
        Command::Press(PressCommand::Export { dir }) => {
            let report = App::open_existing(config).await?.export_press(&dir).await?;
            println!(
                "{}",
                say!(
                    "press-export-summary",
                    dir = dir.display().to_string(),
                    written = report.written.len(),
                    unchanged = report.unchanged,
                    removed = report.removed.len()
                )
            );
            for path in &report.removed {
                println!("  {}", say!("press-export-removed", path = path.as_str()));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn update(app: App, command: UpdateCommand) -> Result<ExitCode> {
    let actor = Actor::cli(&login_name());
    match command {
        UpdateCommand::Draft { file, by, sms_gsm7 } => {
            let options = DraftOptions {
                accept_gsm7: sms_gsm7,
                max_sms_segments: Some(app.config.sms.max_segments),
            };
            let report = app.draft_as(&file, by.as_deref(), options, &actor).await?;
            let (id, draft) = (report.id, &report.draft);
            println!(
                "{}",
                say!(
                    "draft-stored",
                    id = id.to_string(),
                    kind = draft.update.kind.as_str(),
                    author = draft.update.author.as_str()
                )
            );
            println!("{}", say!("draft-sms-heading"));
            for (language, analysis) in &draft.sms {
                println!(
                    "  {}",
                    say!(
                        "draft-sms-language",
                        language = language.code(),
                        encoding = analysis.encoding.as_str(),
                        parts = analysis.segments,
                        units = analysis.units
                    )
                );
                if !analysis.non_gsm.is_empty() {
                    let chars: String =
                        analysis.non_gsm.iter().map(|c| format!("'{c}' ")).collect();
                    println!(
                        "    {}",
                        say!("draft-forced-ucs2", chars = chars.trim_end())
                    );
                    let text = &draft.update.text(*language).sms;
                    if let Some(proposal) = gsm::gsm7_version(text) {
                        let cost = gsm::analyse(&proposal);
                        println!(
                            "    {}",
                            say!(
                                "draft-gsm7-version",
                                parts = cost.segments,
                                proposal = proposal.as_str()
                            )
                        );
                        println!("    {}", say!("draft-gsm7-hint"));
                    }
                }
            }
            print!("{}", forecast_text(&report.forecast));
            for warning in &report.warnings {
                eprintln!("{}", say!("warning-line", message = warning.as_str()));
            }
            println!("{}", say!("draft-next", id = id.to_string()));
        }
        UpdateCommand::Approve { id, by } => {
            app.approve_as(id, &by, &actor).await?;
            println!(
                "{}",
                say!("approved", id = id.to_string(), by = by.as_str())
            );
            warn_four_eyes_by_names(&app).await?;
        }
        UpdateCommand::Return { id, by, comment } => {
            app.return_to_author(id, &by, &comment, &actor).await?;
            println!(
                "{}",
                say!("update-returned", id = id.to_string(), by = by.as_str())
            );
            warn_four_eyes_by_names(&app).await?;
        }
        UpdateCommand::Send {
            id,
            at: Some(at),
            by,
        } => {
            let by = who(by);
            let at_ms = app.local_time_ms(&at)?;
            app.schedule(id, Some(at_ms), &by, &actor).await?;
            println!(
                "{}",
                say!(
                    "update-scheduled",
                    id = id.to_string(),
                    at = at.as_str(),
                    timezone = app.config.hospital.timezone.as_str()
                )
            );
        }
        UpdateCommand::Pause { id, by } => {
            let by = who(by);
            let held = app.pause(id, &by, &actor).await?;
            println!(
                "{}",
                say!(
                    "update-paused",
                    id = id.to_string(),
                    by = by.as_str(),
                    count = held
                )
            );
        }
        UpdateCommand::Resume { id, by } => {
            let by = who(by);
            let due = app.resume(id, &by, &actor).await?;
            println!(
                "{}",
                say!(
                    "update-resumed",
                    id = id.to_string(),
                    by = by.as_str(),
                    count = due
                )
            );
        }
        UpdateCommand::Preview {
            id,
            contact,
            language,
            channel,
        } => {
            let sample = match (&contact, language) {
                (Some(contact), _) => Sample::Contact(contact),
                (None, Some(language)) => Sample::Language(language),
                (None, None) => Sample::First,
            };
            for preview in app.preview(id, sample, channel).await? {
                let address = preview
                    .address
                    .clone()
                    .unwrap_or_else(|| say!("preview-no-address"));
                let heading = |id| {
                    text().say(
                        id,
                        &[
                            ("channel", preview.channel.as_str().into()),
                            ("address", address.as_str().into()),
                            ("contact", preview.contact_id.to_string().into()),
                            ("external", preview.external_id.as_str().into()),
                            ("name", preview.contact_name.as_str().into()),
                            ("language", preview.language.code().into()),
                        ],
                    )
                };
                println!(
                    "{}",
                    if preview.stored {
                        heading("preview-heading-stored")
                    } else {
                        heading("preview-heading")
                    }
                );
                if let Some(subject) = &preview.content.subject {
                    println!("{}\n", say!("preview-subject", subject = subject.as_str()));
                }
                println!("{}", preview.content.body);
                if let Some(html) = &preview.content.body_html {
                    println!("{}\n{html}", say!("preview-html"));
                }
            }
        }
        UpdateCommand::Send { id, at: None, .. } => {
            let report = app.send_as(id, show_progress, &actor).await?;
            if report.plan.already_planned {
                println!("{}", say!("send-planned-before", id = id.to_string()));
            } else {
                println!(
                    "{}",
                    say!(
                        "send-planned",
                        count = report.plan.pending,
                        skipped = report.plan.skipped
                    )
                );
            }
            if report.resumed > 0 {
                println!("{}", say!("send-resumed", count = report.resumed));
            }
            return run_ended(&app, id, &report.end).await;
        }
        UpdateCommand::Retry {
            id,
            channel,
            states,
            reason,
            by,
        } => {
            let filter = RetryFilter {
                channel,
                states,
                reason,
            };
            let by = who(by);
            let (chosen, report) = app
                .retry_as(id, &filter, &by, show_progress, &actor)
                .await?;
            println!(
                "{}",
                if report.resumed > 0 {
                    say!(
                        "retry-sent-and-resumed",
                        count = chosen,
                        by = by.as_str(),
                        resumed = report.resumed
                    )
                } else {
                    say!("retry-sent", count = chosen, by = by.as_str())
                }
            );
            return run_ended(&app, id, &report.end).await;
        }
        UpdateCommand::Fallback { id } => {
            let planned = app.fallback_now(id, &Actor::cli(&login_name())).await?;
            println!(
                "{}",
                say!("update-fallback-planned", id = id, count = planned)
            );
        }
        UpdateCommand::Halt { id, by } => {
            let by = who(by);
            let cancelled = app.halt_as(id, &by, &actor).await?;
            println!(
                "{}",
                say!(
                    "halted",
                    id = id.to_string(),
                    by = by.as_str(),
                    count = cancelled
                )
            );
        }
        UpdateCommand::Discard { id, by } => {
            let by = who(by);
            app.discard_as(id, &by, &actor).await?;
            println!(
                "{}",
                say!("discarded", id = id.to_string(), by = by.as_str())
            );
        }
        UpdateCommand::Revoke { id, by } => {
            let by = who(by);
            app.revoke_as(id, &by, &actor).await?;
            println!("{}", say!("revoked", id = id.to_string(), by = by.as_str()));
        }
        UpdateCommand::New {
            playbook,
            follow,
            output,
        } => {
            let (file, next) = if let Some(key) = playbook {
                (app.playbook_file(&key).await?, "fill in each [[...]] blank")
            } else if let Some(follow) = follow {
                let file = match follow.parse::<i64>() {
                    Ok(id) => app.follow_up_file(id).await?,
                    Err(_) => tocsin::playbooks::follow_up(&app.latest_update(&follow).await?),
                };
                (file, "rewrite its texts with what is new")
            } else {
                anyhow::bail!("say where the new update starts: --playbook NAME or --follow ID");
            };
            write_new_file(&file, output.as_deref(), next)?;
        }
        UpdateCommand::Playbooks => print!("{}", playbook_list()),
        UpdateCommand::List => {
            let returned: std::collections::HashMap<i64, tocsin::store::Review> = app
                .store
                .last_reviews()
                .await?
                .into_iter()
                .filter(|review| review.verdict == tocsin::store::Verdict::Returned)
                .map(|review| (review.update_id, review))
                .collect();
            for update in app.store.updates().await? {
                let by = match &update.approved_by {
                    Some(approver) => say!(
                        "list-by-approved",
                        author = update.author.as_str(),
                        approver = approver.as_str()
                    ),
                    None => say!("list-by", author = update.author.as_str()),
                };
                println!(
                    "{:>4}  {:<9} {:<8} {:<24} {}  {by}",
                    update.id,
                    update.state.as_str(),
                    update.kind.as_str(),
                    update.incident_id,
                    update.text(text().language()).title,
                );
                if let Some(review) = returned
                    .get(&update.id)
                    .filter(|_| update.state == UpdateState::Draft)
                {
                    println!(
                        "      {}",
                        say!(
                            "list-returned",
                            by = review.by.as_str(),
                            comment = review.comment.as_deref().unwrap_or_default()
                        )
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Without accounts four eyes compares typed names only: said after each review, where the
/// one who reviews reads it.
async fn warn_four_eyes_by_names(app: &App) -> Result<()> {
    if !app.four_eyes_by_account().await? {
        eprintln!("{}", say!("foureyes-by-names"));
    }
    Ok(())
}

/// `update playbooks`: each playbook's key and its name in nl, fr and en.
fn playbook_list() -> String {
    let mut out = String::new();
    for playbook in tocsin::playbooks::playbooks() {
        let names: Vec<&str> = Language::ALL
            .iter()
            .map(|language| playbook.name(*language))
            .collect();
        out.push_str(&format!("{:<12} {}\n", playbook.key(), names.join(" / ")));
    }
    out.push_str("Next: tocsin update new --playbook NAME -o FILE, fill in every [[...]] in it\n");
    out
}

/// A new update file to standard output, or to `output`, which must not exist yet; then
/// what to do `next` with it.
fn write_new_file(file: &str, output: Option<&std::path::Path>, next: &str) -> Result<()> {
    use std::io::Write as _;
    let Some(path) = output else {
        print!("{file}");
        return Ok(());
    };
    let mut written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow::anyhow!(
                "{} exists already: not overwritten; choose another name",
                path.display()
            ),
            _ => anyhow::anyhow!("cannot create {}: {error}", path.display()),
        })?;
    written
        .write_all(file.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "{} written: {next}, then: tocsin update draft {} --by NAME",
        path.display(),
        path.display()
    );
    Ok(())
}

/// Whom the draft reaches and what its SMS cost, as `update send` would plan them now.
fn forecast_text(forecast: &Forecast) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let by_language = |counts: &std::collections::BTreeMap<Language, u64>| {
        counts
            .iter()
            .map(|(language, n)| format!("{language} {}", text().number(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "{}", say!("forecast-heading"));
    for audience in &forecast.audiences {
        let _ = write!(
            out,
            "  {}",
            say!(
                "forecast-audience",
                spec = audience.spec.to_string(),
                count = audience.contacts
            )
        );
        if !audience.by_language.is_empty() {
            let _ = write!(out, " ({})", by_language(&audience.by_language));
        }
        if audience.shared > 0 {
            let _ = write!(out, "{}", say!("forecast-shared", count = audience.shared));
        }
        out.push('\n');
        for (channel, counts) in &audience.deliveries {
            let total = counts.values().sum::<u64>();
            let counted = format!("{} ({})", text().number(total), by_language(counts));
            let _ = writeln!(
                out,
                "    {}",
                say!("labelled", label = channel.to_string(), value = counted)
            );
        }
        if !audience.skipped.is_empty() {
            let skipped: Vec<String> = audience
                .skipped
                .iter()
                .map(|(reason, n)| format!("{reason} {}", text().number(*n)))
                .collect();
            let _ = writeln!(
                out,
                "    {}",
                say!("forecast-skipped", list = skipped.join(", "))
            );
        }
        if audience.unreachable > 0 {
            let _ = writeln!(
                out,
                "    {}",
                say!("forecast-unreachable", count = audience.unreachable)
            );
        }
    }
    if forecast.sms.is_empty() {
        return out;
    }
    let _ = writeln!(out, "{}", say!("forecast-sms-heading"));
    let (mut messages, mut parts) = (0, 0);
    for (language, sms) in &forecast.sms {
        let distribution: Vec<String> = sms
            .parts
            .iter()
            .map(|(size, n)| say!("forecast-sms-parts", messages = *n, parts = *size))
            .collect();
        let _ = write!(
            out,
            "  {}",
            say!(
                "forecast-sms-language",
                language = language.code(),
                messages = sms.messages(),
                distribution = distribution.join(", "),
                parts = sms.total_parts()
            )
        );
        if let Some(longest) = &sms.longest {
            let _ = write!(
                out,
                "{}",
                say!(
                    "forecast-longest",
                    contact = longest.external_id.as_str(),
                    parts = longest.parts,
                    encoding = longest.encoding.as_str()
                )
            );
        }
        out.push('\n');
        messages += sms.messages();
        parts += sms.total_parts();
    }
    let _ = writeln!(
        out,
        "  {}",
        say!("forecast-total", messages = messages, parts = parts)
    );
    out
}

async fn import(app: App, command: ImportCommand) -> Result<()> {
    let (kind, args) = match command {
        ImportCommand::Appointments(args) => (Some(ImportKind::Appointments), args),
        ImportCommand::Fhir(args) => (Some(ImportKind::Fhir), args),
        ImportCommand::Gps(args) => (Some(ImportKind::Gps), args),
        ImportCommand::Media(args) => (Some(ImportKind::Media), args),
        ImportCommand::Optouts(args) => (None, args),
        ImportCommand::Conflicts {
            accept,
            reject,
            all,
            by,
        } => return conflicts(&app, accept, reject, all, by).await,
    };
    let Some(kind) = kind else {
        let (applied, rejected, rejects) = app
            .import_optouts(&args.file, args.rejects.as_deref(), args.separator)
            .await?;
        println!(
            "{}",
            say!(
                "import-optouts",
                file = args.file.display().to_string(),
                count = applied,
                rejected = rejected
            )
        );
        if let Some(rejects) = rejects {
            let file = rejects.display().to_string();
            println!("{}", say!("import-optouts-rejects", file = file));
        }
        return Ok(());
    };
    let summary = app
        .import(kind, &args.file, args.rejects.as_deref(), args.separator)
        .await?;
    let counts = summary.counts;
    let accepted = summary
        .records
        .saturating_sub(summary.rejected + summary.skipped);
    let mut accepted = match summary.kept_without_a_field {
        0 => say!("import-accepted", count = accepted),
        kept => say!("import-accepted-kept", count = accepted, kept = kept),
    };
    if summary.skipped > 0 {
        accepted.push(' ');
        accepted.push_str(&say!("import-skipped", count = summary.skipped));
    }
    println!(
        "{}",
        say!(
            "import-read",
            file = args.file.display().to_string(),
            records = summary.records,
            accepted = accepted,
            rejected = summary.rejected
        )
    );
    println!(
        "  {}",
        say!(
            "import-contacts",
            new = counts.contacts.new,
            updated = counts.contacts.updated,
            unchanged = counts.contacts.unchanged
        )
    );
    println!(
        "  {}",
        say!(
            "import-appointments",
            new = counts.appointments.new,
            updated = counts.appointments.updated,
            unchanged = counts.appointments.unchanged
        )
    );
    if counts.conflicts > 0 {
        println!("  {}", say!("import-conflicts", count = counts.conflicts));
    }
    for notice in &summary.notices {
        println!(
            "  {}",
            say!(
                "import-note",
                line = notice.line.to_string(),
                field = notice.field.to_string(),
                message = notice.message.to_string()
            )
        );
    }
    if let Some(rejects) = summary.rejects_file {
        let file = rejects.display().to_string();
        println!("{}", say!("import-rejects", file = file));
    }
    Ok(())
}

/// `tocsin import conflicts`: lists them, or decides one.
async fn conflicts(
    app: &App,
    accept: Option<i64>,
    reject: Option<i64>,
    all: bool,
    by: Option<String>,
) -> Result<()> {
    if let Some((id, accepted)) = accept.map(|id| (id, true)).or(reject.map(|id| (id, false))) {
        let counts = app.decide_conflict(id, accepted, &who(by)).await?;
        if accepted {
            println!(
                "{}",
                say!(
                    "conflict-accepted",
                    id = id.to_string(),
                    contacts = counts.contacts.updated,
                    new = counts.appointments.new,
                    updated = counts.appointments.updated
                )
            );
        } else {
            println!("{}", say!("conflict-rejected", id = id.to_string()));
        }
        return Ok(());
    }
    let conflicts = app.import_conflicts(all).await?;
    if conflicts.is_empty() {
        if all {
            println!("{}", say!("conflicts-none"));
        } else {
            println!("{}", say!("conflicts-none-open"));
        }
        return Ok(());
    }
    let born = |date: Option<chrono::NaiveDate>| {
        date.map_or_else(
            || say!("conflict-born-unknown"),
            |date| say!("conflict-born", date = text().date(date)),
        )
    };
    for conflict in &conflicts {
        let record = &conflict.record;
        let (id, state) = (conflict.id.to_string(), conflict.state.as_str());
        let (identity, reason) = (conflict.identity.to_string(), conflict.reason.as_str());
        println!(
            "{}",
            match conflict.decided_by.as_deref() {
                Some(by) => say!(
                    "conflict-line-decided",
                    id = id,
                    state = state,
                    by = by,
                    identity = identity,
                    reason = reason
                ),
                None => say!(
                    "conflict-line",
                    id = id,
                    state = state,
                    identity = identity,
                    reason = reason
                ),
            }
        );
        println!(
            "    {}",
            say!("conflict-from", source = conflict.source.to_string())
        );
        match &conflict.contact {
            Some(known) => println!(
                "    {}",
                say!(
                    "conflict-known",
                    id = known.id.to_string(),
                    name = known.full_name(),
                    role = known.role.to_string(),
                    born = born(known.birth_date),
                    external = known.external_id.to_string()
                )
            ),
            None => println!("    {}", say!("conflict-known-several")),
        }
        println!(
            "    {}",
            say!(
                "conflict-imported",
                name = format!("{} {}", record.first_name, record.last_name),
                role = record.role.to_string(),
                born = born(record.birth_date),
                count = conflict.appointments.len()
            )
        );
    }
    println!("{}", say!("conflict-decide"));
    Ok(())
}

async fn accounts(config: Config, command: UserCommand) -> Result<()> {
    let actor = Actor::cli(&login_name());
    match command {
        UserCommand::Add {
            name,
            role,
            setup_link,
            email,
            phone,
        } => {
            // Checked before the account exists: a mistyped address adds no account.
            tocsin::app::checked_contact(email.as_deref(), phone.as_deref())?;
            let credential = if setup_link {
                NewCredential::SetupToken
            } else {
                NewCredential::Password(read_new_password(&name)?)
            };
            // The first account comes before any import: this one may create the database.
            let app = App::open(config).await?;
            let (user, setup) = app.add_user(&name, role, credential, &actor).await?;
            println!(
                "{}",
                say!(
                    "user-added",
                    name = user.name.to_string(),
                    role = user.role.to_string()
                )
            );
            if email.is_some() || phone.is_some() {
                app.set_user_contact(&name, email.as_deref(), phone.as_deref(), &actor)
                    .await?;
                println!("{}", say!("user-contact-set"));
            }
            if let Some(setup) = setup {
                let tz = app
                    .config
                    .hospital
                    .tz()
                    .unwrap_or(chrono_tz::Europe::Brussels);
                let until = chrono::DateTime::from_timestamp_millis(setup.expires_at_ms)
                    .map(|at| text().datetime(at, tz))
                    .unwrap_or_default();
                println!("{}", say!("user-setup-token", until = until));
                println!("/console/setup/{}", setup.token.expose());
            }
        }
        UserCommand::List => {
            let app = App::open_existing(config).await?;
            for user in app.users(&actor).await? {
                let disabled = if user.disabled_at_ms.is_some() {
                    format!("  {}", say!("user-flag-disabled"))
                } else if user.password_hash.is_none() {
                    format!("  {}", say!("user-flag-no-password"))
                } else {
                    String::new()
                };
                println!(
                    "{:<24} {:<9}{disabled}",
                    user.name.as_str(),
                    user.role.as_str()
                );
            }
        }
        UserCommand::Set { name, email, phone } => {
            if email.is_none() && phone.is_none() {
                anyhow::bail!("{}", say!("user-set-needs"));
            }
            let app = App::open_existing(config).await?;
            app.set_user_contact(&name, email.as_deref(), phone.as_deref(), &actor)
                .await?;
            println!("{}", say!("user-contact-set-for", name = name.clone()));
        }
        UserCommand::Disable { name } => {
            let app = App::open_existing(config).await?;
            let user = app.disable_user(&name, &actor).await?;
            println!("{}", say!("user-disabled", name = user.name.to_string()));
        }
    }
    Ok(())
}

/// A new password: asked twice without echo on a terminal, else the first line of stdin.
fn read_new_password(name: &str) -> Result<String> {
    use std::io::BufRead;
    if std::io::stdin().is_terminal() {
        let first =
            rpassword::prompt_password(format!("{} ", say!("prompt-password", name = name)))
                .with_context(|| say!("error-password-read"))?;
        check_password(&first)?;
        let again = rpassword::prompt_password(format!("{} ", say!("prompt-password-again")))
            .with_context(|| say!("error-password-read"))?;
        if first != again {
            anyhow::bail!(say!("error-passwords-differ"));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| say!("error-password-stdin"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    check_password(&password)?;
    Ok(password)
}

/// The login name that runs the command, for the audit log.
fn login_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "an unknown login".into())
}

/// Who asked for an action, when `--by` does not say: the login name.
fn who(by: Option<String>) -> String {
    by.filter(|by| !by.trim().is_empty())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| "an unnamed user (no --by)".into())
}

/// Exit codes of `update send` and `update retry`, as documented in the README.
const EXIT_NOT_ALL_REACHED: u8 = 3;
const EXIT_STOPPED: u8 = 4;

/// Prints where the update stands after a run and chooses the exit code: 0 when every
/// delivery is final and none failed; 3 when some ended failed, undeliverable or uncertain;
/// 4 when the run stopped (a channel to fix, or a halt).
async fn run_ended(app: &App, id: i64, end: &RunEnd) -> Result<ExitCode> {
    let status = app.status(id).await?;
    print!("{}", status.to_text_in("tocsin", text()));
    match end {
        RunEnd::Finished => {
            let missed: u64 = [
                DeliveryState::Failed,
                DeliveryState::Undeliverable,
                DeliveryState::Uncertain,
            ]
            .iter()
            .filter_map(|state| status.by_state.get(state))
            .sum();
            if missed == 0 {
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{}",
                say!("run-missed", count = missed, id = id.to_string())
            );
            Ok(ExitCode::from(EXIT_NOT_ALL_REACHED))
        }
        RunEnd::Stopped(channels) => {
            let held = app.store.backlog(id).await?.held;
            println!("{}", say!("run-stopped", count = held));
            for (channel, reason) in channels {
                println!(
                    "  {}",
                    say!(
                        "labelled",
                        label = channel.to_string(),
                        value = reason.to_string()
                    )
                );
            }
            println!("{}", say!("run-stopped-fix", id = id.to_string()));
            if status.by_state.contains_key(&DeliveryState::Undeliverable) {
                println!("{}", say!("run-stopped-refused", id = id.to_string()));
            }
            Ok(ExitCode::from(EXIT_STOPPED))
        }
        RunEnd::Halted => {
            println!("{}", say!("run-halted", id = id.to_string()));
            Ok(ExitCode::from(EXIT_STOPPED))
        }
        RunEnd::Paused => {
            println!("{}", say!("run-paused", id = id.to_string()));
            Ok(ExitCode::from(EXIT_STOPPED))
        }
    }
}

/// What the progress display says besides the counts: channels paused or stopped, and the
/// last reason a message did not go.
fn progress_notes(tally: &Tally) -> String {
    let mut notes = String::new();
    for (channel, note) in tally.channel_notes() {
        notes.push_str(&format!("; {channel} {note}"));
    }
    if let Some(error) = tally.last_error() {
        notes.push_str(&say!("progress-last-error", error = error.to_string()));
    }
    notes
}

/// A progress bar on a terminal; a plain line every few seconds otherwise (logs, CI).
pub fn show_progress(tally: Arc<Tally>, open: u64) {
    let started = std::time::Instant::now();
    let rate = move |done: u64| {
        let seconds = started.elapsed().as_secs_f64();
        if seconds < 1.0 {
            String::new()
        } else {
            say!(
                "progress-rate",
                rate = text().number((done as f64 / seconds).round() as u64)
            )
        }
    };
    let line = move |tally: &Tally| {
        let load = |counter: &std::sync::atomic::AtomicU64| {
            counter.load(std::sync::atomic::Ordering::Relaxed)
        };
        say!(
            "progress-line",
            done = tally.finished(),
            open = open,
            sent = load(&tally.sent),
            undeliverable = load(&tally.undeliverable),
            failed = load(&tally.failed),
            uncertain = load(&tally.uncertain),
            rate = rate(tally.finished()),
            waiting = load(&tally.waiting),
            notes = progress_notes(tally)
        )
    };
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(open);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        tokio::spawn(async move {
            loop {
                bar.set_position(tally.finished());
                bar.set_message(line(&tally));
                if tally.finished() >= open {
                    bar.finish();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    } else {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                eprintln!("{}", say!("progress-prefix", line = line(&tally)));
                if tally.finished() >= open {
                    break;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn undescribed(command: &clap::Command, path: &str, out: &mut Vec<String>) {
        let path = format!("{path} {}", command.get_name());
        if command.get_about().is_none() {
            out.push(path.clone());
        }
        for arg in command.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                out.push(format!("{path} <{}>", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            undescribed(sub, &path, out);
        }
    }

    #[test]
    fn every_action_refused_with_the_example_details_has_its_sentence() {
        for source in [include_str!("app.rs"), include_str!("web/mod.rs")] {
            for piece in source.split("refuse_placeholders(\"").skip(1) {
                let action = piece.split('"').next().unwrap_or_default();
                let known = PLACEHOLDER_ACTIONS
                    .iter()
                    .find(|(english, _)| *english == action);
                assert!(known.is_some(), "{action:?} is not in PLACEHOLDER_ACTIONS");
            }
        }
        for (english, id) in PLACEHOLDER_ACTIONS {
            assert_eq!(CliText::english().say(id, &[]), *english);
        }
    }

    #[test]
    fn the_help_describes_every_command_argument_and_option() {
        let command = Cli::command();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        undescribed(&command, "", &mut missing);
        missing.retain(|path| path.trim() != "tocsin help" && !path.contains(" help "));
        assert!(missing.is_empty(), "no help text: {missing:#?}");
        let help = command.clone().render_help().to_string();
        for needed in [
            "TOCSIN_DATABASE_URL",
            "TOCSIN_LOG",
            "TOCSIN_SMTP_PASSWORD",
            "TOCSIN_RECEIPT_SECRET",
            "TOCSIN_LANG",
            "_env",
            "patients from=",
            "gps-of-affected",
            "all-gps",
            "media",
        ] {
            assert!(help.contains(needed), "{needed} is not in --help:\n{help}");
        }
    }
}
