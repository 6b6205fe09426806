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
use tocsin::app::{Actor, App, AppError, ImportKind, NewCredential, Sample};
use tocsin::author::DraftOptions;
use tocsin::channels::sms::gsm;
use tocsin::config::Config;
use tocsin::dispatch::{RunEnd, Tally};
use tocsin::domain::{check_password, ChannelKind, DeliveryState, Language, UpdateState, UserRole};
use tocsin::plan::Forecast;
use tocsin::report::{count, grouped, UnreachedFilter};
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
    /// Database URL, e.g. sqlite://tocsin.db (default: database_url in the configuration).
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
    /// being sent, until Ctrl-C.
    Serve,
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
        /// The author (else the file's `author`).
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
        /// Who approves: not the author.
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
        /// Who sends it back: not the author.
        #[arg(long)]
        by: String,
        /// What the author should change.
        #[arg(long)]
        comment: String,
    },
    /// Plans and sends an approved update, and tracks it until every delivery is final.
    /// Sending a paused update again resumes the deliveries its stopped run held back.
    /// With --at, only marks it for `tocsin serve` to start then.
    Send {
        /// The approved (or paused) update's id.
        id: i64,
        /// When `tocsin serve` is to start it, in the hospital's time zone: "2026-12-01 09:30".
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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

fn write_stdout(text: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(error) = std::io::stdout().lock().write_fmt(text) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to the standard output: {error}");
        std::process::exit(1);
    }
}

/// One line for a person: each cause once, without a backtrace (the errors that reach
/// here are for the user to fix, not ours).
fn describe(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// Names the database in an error that involves it (and does not name it already), so a
/// wrong `--database` shows.
fn name_database(error: anyhow::Error, url: &str) -> anyhow::Error {
    let involved = error.chain().any(|cause| {
        cause.is::<sqlx::Error>()
            || cause.is::<StoreError>()
            || matches!(cause.downcast_ref(), Some(AppError::Store(_)))
    });
    let shown = match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    };
    if involved && !describe(&error).contains(&shown) {
        error.context(format!("database {shown}"))
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

async fn execute(command: Command, config: Config) -> Result<ExitCode> {
    match command {
        Command::Demo { dir, patients } => {
            let summary = tocsin::demo::run(&dir, patients, config).await?;
            print!("{summary}");
        }
        Command::Update(command) => {
            return update(App::open_existing(config).await?, command).await
        }
        Command::Status { id, json } => {
            let app = App::open_existing(config).await?;
            let report = app.status(id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
        }
        // An import may start a new database; every other command that opens one needs it to
        // exist, so that a mistyped path is not taken for an empty database.
        Command::Import(command) => import(App::open(config).await?, command).await?,
        Command::Serve => {
            let server = Server::bind(App::open_existing(config).await?).await?;
            eprintln!(
                "Receiving delivery receipts on http://{}/receipts/… (Ctrl-C to stop)",
                server.address()
            );
            eprintln!("Press room on http://{}/", server.address());
            server
                .run(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await;
        }
        Command::Check => {
            let report = tocsin::check::check(&config);
            print!("{}", report.to_text());
            if !report.problems.is_empty() {
                anyhow::bail!(
                    "{} to fix before tocsin can send",
                    count(report.problems.len() as u64, "thing", "things")
                );
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
                    println!(
                        "{contact}: {}",
                        if changed {
                            format!("opted out of {channel}")
                        } else {
                            format!("was already opted out of {channel}")
                        }
                    );
                }
                OptoutCommand::Remove { contact, channel } => {
                    let changed = app.optout(&contact, channel, false, None).await?;
                    println!(
                        "{contact}: {}",
                        if changed {
                            format!("receives {channel} again")
                        } else {
                            format!("was not opted out of {channel}")
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
                    "{}: {}",
                    summary.spec,
                    count(summary.contacts, "contact", "contacts")
                );
                let languages: Vec<String> = summary
                    .by_language
                    .iter()
                    .map(|(language, n)| format!("{language} {}", grouped(*n)))
                    .collect();
                println!("  by language: {}", languages.join(", "));
                let channels: Vec<String> = summary
                    .reachable
                    .iter()
                    .map(|(channel, n)| format!("{channel} {n}"))
                    .collect();
                println!("  reachable by: {}", channels.join(", "));
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
            let report = app.status(id).await?;
            let filter = UnreachedFilter {
                channel,
                state,
                reason,
            };
            let chosen: Vec<_> = report
                .unreached
                .into_iter()
                .filter(|contact| filter.takes(contact))
                .collect();
            let file = std::fs::File::create(&csv)
                .with_context(|| format!("cannot create {}", csv.display()))?;
            tocsin::report::unreached_csv(&chosen, file, separator)?;
            println!(
                "{} written to {}",
                count(
                    chosen.len() as u64,
                    "unreached contact",
                    "unreached contacts"
                ),
                csv.display()
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
            let entries = app
                .audit_log(since, user.as_deref(), &Actor::cli(&login_name()))
                .await?;
            let file = std::fs::File::create(&csv)
                .with_context(|| format!("cannot create {}", csv.display()))?;
            app.audit_csv(&entries, file, separator)?;
            println!(
                "{} written to {}",
                count(entries.len() as u64, "audit entry", "audit entries"),
                csv.display()
            );
        }
        Command::Press(PressCommand::Export { dir }) => {
            let report = App::open_existing(config).await?.export_press(&dir).await?;
            println!(
                "{}: {} written, {} unchanged, {} removed",
                dir.display(),
                count(report.written.len() as u64, "file", "files"),
                grouped(report.unchanged as u64),
                grouped(report.removed.len() as u64)
            );
            for path in &report.removed {
                println!("  removed {path}");
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
                "Stored draft update {id} ({}, by {}).",
                draft.update.kind.as_str(),
                draft.update.author
            );
            println!("The sms text as written:");
            for (language, analysis) in &draft.sms {
                println!(
                    "  [{language}]: {}, {}, {}",
                    analysis.encoding.as_str(),
                    count(analysis.segments as u64, "part", "parts"),
                    count(analysis.units as u64, "unit", "units")
                );
                if !analysis.non_gsm.is_empty() {
                    let chars: String =
                        analysis.non_gsm.iter().map(|c| format!("'{c}' ")).collect();
                    println!("    forced UCS-2 by: {}", chars.trim_end());
                    let text = &draft.update.text(*language).sms;
                    if let Some(proposal) = gsm::gsm7_version(text) {
                        let cost = gsm::analyse(&proposal);
                        println!(
                            "    GSM-7 version ({}): {proposal}",
                            count(cost.segments as u64, "part", "parts")
                        );
                        println!("    draft again with --sms-gsm7 to use it");
                    }
                }
            }
            print!("{}", forecast_text(&report.forecast));
            for warning in &report.warnings {
                eprintln!("WARNING: {warning}");
            }
            println!(
                "Next: tocsin update preview {id} [--language nl|fr|en], then tocsin update \
                 approve {id} --by NAME   (someone other than the author)"
            );
        }
        UpdateCommand::Approve { id, by } => {
            app.approve_as(id, &by, &actor).await?;
            println!("Update {id} approved by {by}. Next: tocsin update send {id}");
        }
        UpdateCommand::Return { id, by, comment } => {
            app.return_to_author(id, &by, &comment, &actor).await?;
            println!("Update {id} sent back to its author by {by}: it is still a draft.");
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
                "Update {id} is to be sent at {at} ({}) by tocsin serve, which must be running                  then.",
                app.config.hospital.timezone
            );
        }
        UpdateCommand::Pause { id, by } => {
            let by = who(by);
            let held = app.pause(id, &by, &actor).await?;
            println!(
                "Update {id} paused by {by}: {} held. To go on: tocsin update resume {id}",
                count(held, "delivery", "deliveries")
            );
        }
        UpdateCommand::Resume { id, by } => {
            let by = who(by);
            let due = app.resume(id, &by, &actor).await?;
            println!(
                "Update {id} resumed by {by}: {} due again; tocsin serve sends them (or:                  tocsin update send {id}).",
                count(due, "delivery", "deliveries")
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
                println!(
                    "=== {} to {} (contact {}, {}), {}, {}{}",
                    preview.channel,
                    preview.address.as_deref().unwrap_or("(no address)"),
                    preview.contact_id,
                    preview.external_id,
                    preview.contact_name,
                    preview.language,
                    if preview.stored { ", as sent" } else { "" }
                );
                if let Some(subject) = &preview.content.subject {
                    println!("Subject: {subject}\n");
                }
                println!("{}", preview.content.body);
                if let Some(html) = &preview.content.body_html {
                    println!("--- HTML part ---\n{html}");
                }
            }
        }
        UpdateCommand::Send { id, at: None, .. } => {
            let report = app.send_as(id, show_progress, &actor).await?;
            if report.plan.already_planned {
                println!("Update {id} was planned before: nothing new planned.");
            } else {
                println!(
                    "Planned {} ({} skipped: opted out or no address).",
                    count(report.plan.pending, "delivery", "deliveries"),
                    report.plan.skipped
                );
            }
            if report.resumed > 0 {
                println!(
                    "Resumed {} held back by the run that stopped before.",
                    count(report.resumed, "delivery", "deliveries")
                );
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
                "{} sent again at the request of {by}{}.",
                count(chosen, "delivery", "deliveries"),
                if report.resumed > 0 {
                    format!(
                        ", and {} held back by a stopped run",
                        count(report.resumed, "delivery", "deliveries")
                    )
                } else {
                    String::new()
                }
            );
            return run_ended(&app, id, &report.end).await;
        }
        UpdateCommand::Halt { id, by } => {
            let by = who(by);
            let cancelled = app.halt_as(id, &by, &actor).await?;
            println!(
                "Update {id} halted by {by}: {} cancelled. A running send stops within a \
                 second; messages already handed to a gateway are not called back.",
                count(cancelled, "delivery", "deliveries")
            );
        }
        UpdateCommand::Discard { id, by } => {
            let by = who(by);
            app.discard_as(id, &by, &actor).await?;
            println!("Draft {id} discarded by {by}: it will never be sent.");
        }
        UpdateCommand::Revoke { id, by } => {
            let by = who(by);
            app.revoke_as(id, &by, &actor).await?;
            println!(
                "Approval of update {id} revoked by {by}: it is a draft again. \
                 Next: tocsin update approve {id} --by NAME, or tocsin update discard {id}"
            );
        }
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
                println!(
                    "{:>4}  {:<9} {:<8} {:<24} {}  (by {}{})",
                    update.id,
                    update.state.as_str(),
                    update.kind.as_str(),
                    update.incident_id,
                    update.en.title,
                    update.author,
                    update
                        .approved_by
                        .map(|by| format!(", approved by {by}"))
                        .unwrap_or_default()
                );
                if let Some(review) = returned
                    .get(&update.id)
                    .filter(|_| update.state == UpdateState::Draft)
                {
                    println!(
                        "      sent back by {}: {}",
                        review.by,
                        review.comment.as_deref().unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whom the draft reaches and what its SMS cost, as `update send` would plan them now.
fn forecast_text(forecast: &Forecast) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let by_language = |counts: &std::collections::BTreeMap<Language, u64>| {
        counts
            .iter()
            .map(|(language, n)| format!("{language} {}", grouped(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "Who it reaches now (as tocsin update send would plan it):"
    );
    for audience in &forecast.audiences {
        let _ = write!(
            out,
            "  {}: {}",
            audience.spec,
            count(audience.contacts, "contact", "contacts")
        );
        if !audience.by_language.is_empty() {
            let _ = write!(out, " ({})", by_language(&audience.by_language));
        }
        if audience.shared > 0 {
            let _ = write!(
                out,
                "; {} more counted under an earlier audience",
                grouped(audience.shared)
            );
        }
        out.push('\n');
        for (channel, counts) in &audience.deliveries {
            let total = counts.values().sum::<u64>();
            let _ = writeln!(
                out,
                "    {channel}: {} ({})",
                grouped(total),
                by_language(counts)
            );
        }
        if !audience.skipped.is_empty() {
            let skipped: Vec<String> = audience
                .skipped
                .iter()
                .map(|(reason, n)| format!("{reason} {}", grouped(*n)))
                .collect();
            let _ = writeln!(out, "    skipped: {}", skipped.join(", "));
        }
        if audience.unreachable > 0 {
            let _ = writeln!(
                out,
                "    reached on no channel: {} (the call centre's list)",
                grouped(audience.unreachable)
            );
        }
    }
    if forecast.sms.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "SMS as recipients get them (sender, their own appointments), parts per message:"
    );
    let (mut messages, mut parts) = (0, 0);
    for (language, sms) in &forecast.sms {
        let distribution: Vec<String> = sms
            .parts
            .iter()
            .map(|(size, n)| {
                format!(
                    "{} of {}",
                    grouped(*n),
                    count(*size as u64, "part", "parts")
                )
            })
            .collect();
        let _ = write!(
            out,
            "  [{language}] {}: {} = {}",
            count(sms.messages(), "SMS", "SMS"),
            distribution.join(", "),
            count(sms.total_parts(), "part", "parts")
        );
        if let Some(longest) = &sms.longest {
            let _ = write!(
                out,
                "; longest: {} ({}, {})",
                longest.external_id,
                count(longest.parts as u64, "part", "parts"),
                longest.encoding.as_str()
            );
        }
        out.push('\n');
        messages += sms.messages();
        parts += sms.total_parts();
    }
    let _ = writeln!(
        out,
        "  total: {}, {} to pay for",
        count(messages, "SMS", "SMS"),
        count(parts, "part", "parts")
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
            "{}: {} applied, {rejected} rejected",
            args.file.display(),
            count(applied as u64, "opt-out", "opt-outs")
        );
        if let Some(rejects) = rejects {
            println!("Rejected lines, with the reason: {}", rejects.display());
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
        0 => format!("{accepted} accepted,"),
        kept => format!("{accepted} accepted, of which {kept} without a field;"),
    };
    if summary.skipped > 0 {
        accepted.push_str(&format!(" {} skipped (see the notes);", summary.skipped));
    }
    println!(
        "{}: {} read, {accepted} {} rejected",
        args.file.display(),
        count(summary.records as u64, "record", "records"),
        summary.rejected
    );
    println!(
        "  contacts:     {} new, {} updated, {} unchanged",
        counts.contacts.new, counts.contacts.updated, counts.contacts.unchanged
    );
    println!(
        "  appointments: {} new, {} updated, {} unchanged",
        counts.appointments.new, counts.appointments.updated, counts.appointments.unchanged
    );
    if counts.conflicts > 0 {
        println!(
            "  conflicts:    {} not merged: the id of a known contact, but another person \
             (nothing of them was written; see tocsin import conflicts)",
            counts.conflicts
        );
    }
    for notice in &summary.notices {
        println!(
            "  note, line {}: {}: {}",
            notice.line, notice.field, notice.message
        );
    }
    if let Some(rejects) = summary.rejects_file {
        println!(
            "Rejected records and those kept without a field, with the reason by field: {}",
            rejects.display()
        );
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
                "Conflict {id} accepted: the record is merged ({} contact updated, {} \
                 appointments new, {} updated).",
                counts.contacts.updated, counts.appointments.new, counts.appointments.updated
            );
        } else {
            println!("Conflict {id} rejected: nothing of that record is imported.");
        }
        return Ok(());
    }
    let conflicts = app.import_conflicts(all).await?;
    if conflicts.is_empty() {
        println!("No import conflict{}.", if all { "" } else { " is open" });
        return Ok(());
    }
    let born = |date: Option<chrono::NaiveDate>| {
        date.map_or_else(
            || "birth date unknown".to_string(),
            |date| format!("born {date}"),
        )
    };
    for conflict in &conflicts {
        let record = &conflict.record;
        println!(
            "#{} ({}{}) {} — {}",
            conflict.id,
            conflict.state.as_str(),
            conflict
                .decided_by
                .as_deref()
                .map(|by| format!(" by {by}"))
                .unwrap_or_default(),
            conflict.identity,
            conflict.reason
        );
        println!("    from {}", conflict.source);
        match &conflict.contact {
            Some(known) => println!(
                "    known:    #{} {} ({}, {}, {})",
                known.id,
                known.full_name(),
                known.role,
                born(known.birth_date),
                known.external_id
            ),
            None => println!("    known:    several contacts"),
        }
        println!(
            "    imported: {} {} ({}, {}), {} held",
            record.first_name,
            record.last_name,
            record.role,
            born(record.birth_date),
            count(
                conflict.appointments.len() as u64,
                "appointment",
                "appointments"
            )
        );
    }
    println!(
        "Decide with: tocsin import conflicts --accept ID (the same person: merge) or --reject ID \
         (another person: import nothing of it, correct the export)"
    );
    Ok(())
}

async fn accounts(config: Config, command: UserCommand) -> Result<()> {
    let actor = Actor::cli(&login_name());
    match command {
        UserCommand::Add {
            name,
            role,
            setup_link,
        } => {
            let credential = if setup_link {
                NewCredential::SetupToken
            } else {
                NewCredential::Password(read_new_password(&name)?)
            };
            // The first account comes before any import: this one may create the database.
            let app = App::open(config).await?;
            let (user, setup) = app.add_user(&name, role, credential, &actor).await?;
            println!("user {} added, role {}", user.name, user.role);
            if let Some(setup) = setup {
                let until = chrono::DateTime::from_timestamp_millis(setup.expires_at_ms)
                    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default();
                println!("setup token (shown once, valid until {until}):");
                println!("{}", setup.token.expose());
            }
        }
        UserCommand::List => {
            let app = App::open_existing(config).await?;
            for user in app.users(&actor).await? {
                let disabled = if user.disabled_at_ms.is_some() {
                    "  disabled"
                } else if user.password_hash.is_none() {
                    "  no password yet (setup token)"
                } else {
                    ""
                };
                println!(
                    "{:<24} {:<9}{disabled}",
                    user.name.as_str(),
                    user.role.as_str()
                );
            }
        }
        UserCommand::Disable { name } => {
            let app = App::open_existing(config).await?;
            let user = app.disable_user(&name, &actor).await?;
            println!("user {} disabled; their sessions ended", user.name);
        }
    }
    Ok(())
}

/// A new password: asked twice without echo on a terminal, else the first line of stdin.
fn read_new_password(name: &str) -> Result<String> {
    use std::io::BufRead;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))
            .context("cannot read the password")?;
        check_password(&first)?;
        let again = rpassword::prompt_password("the same password again: ")
            .context("cannot read the password")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing was changed");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
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
    print!("{}", status.to_text());
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
                "{} did not reach the recipient (failed, undeliverable or uncertain). \
                 The call centre's list: tocsin export unreached {id} --csv FILE",
                count(missed, "delivery", "deliveries")
            );
            Ok(ExitCode::from(EXIT_NOT_ALL_REACHED))
        }
        RunEnd::Stopped(channels) => {
            let held = app.store.backlog(id).await?.held;
            println!(
                "The run STOPPED with {} held back, nothing lost:",
                count(held, "delivery", "deliveries")
            );
            for (channel, reason) in channels {
                println!("  {channel}: {reason}");
            }
            println!(
                "Fix the cause (tocsin check shows the configuration), then: tocsin update send \
                 {id}"
            );
            if status.by_state.contains_key(&DeliveryState::Undeliverable) {
                println!(
                    "Refused meanwhile, to send again once fixed: tocsin update retry {id} \
                     --state undeliverable [--reason TEXT]"
                );
            }
            Ok(ExitCode::from(EXIT_STOPPED))
        }
        RunEnd::Halted => {
            println!("Update {id} was halted: nothing more of it is sent.");
            Ok(ExitCode::from(EXIT_STOPPED))
        }
        RunEnd::Paused => {
            println!(
                "Update {id} was paused: what is left waits. To go on: tocsin update resume {id}"
            );
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
        notes.push_str(&format!("; last error: {error}"));
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
            format!(", {}/s", grouped((done as f64 / seconds).round() as u64))
        }
    };
    let line = move |tally: &Tally| {
        let load = |counter: &std::sync::atomic::AtomicU64| {
            counter.load(std::sync::atomic::Ordering::Relaxed)
        };
        format!(
            "{} of {} final ({} sent, {} undeliverable, {} failed, {} uncertain{}); {} waiting{}",
            grouped(tally.finished()),
            grouped(open),
            grouped(load(&tally.sent)),
            grouped(load(&tally.undeliverable)),
            grouped(load(&tally.failed)),
            grouped(load(&tally.uncertain)),
            rate(tally.finished()),
            grouped(load(&tally.waiting)),
            progress_notes(tally)
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
                eprintln!("progress: {}", line(&tally));
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
