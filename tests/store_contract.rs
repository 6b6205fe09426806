//! The store's contract: one set of behaviour tests, each run against every backend as
//! `NAME::sqlite` and `NAME::postgres`, through the `Store` trait alone (no SQL): what the
//! planner, the dispatchers, the receipts, the sweeps, the imports and the console may rely
//! on whichever database holds the data. Time is what each call is given (`at_ms`), never
//! the machine's.
//!
//! A backend is one line in `contract!` and one arm in `Backend::fresh`.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tempfile::TempDir;
use tocsin::domain::{
    AppointmentOutcome, AppointmentStatus, AppointmentWindow, AudienceSpec, CapFields, ChannelKind,
    Contact, DeliveryState, Identity, Language, NewAppointment, NewContact, NewUpdate,
    PublicReference, Receipt, RenderedMessage, Role, SecretToken, Selection, UpdateKind,
    UpdateState, UpdateText, UserName, UserRole,
};
use tocsin::store::prelude::*;
use tocsin::store::{
    self, AuditEntry, AuditFilter, ClaimedDelivery, ConflictState, FallbackDue, FallbackPlan,
    FallbackRule, FirstCredential, Mark, MergeCounts, NewDelivery, PoolSettings, ReceiptEffect,
    RetryFilter, StatusRow, StoreError, StoredDelivery, Transition, Verdict,
};
use ChannelKind::{Email, Sms, Telegram};
use DeliveryState::{
    Cancelled, Delivered, Failed, Pending, Sending, Sent, Skipped, Uncertain, Undeliverable,
};

#[path = "support/postgres.rs"]
mod postgres;

/// Outside software a test needs. On a laptop without it the test is skipped, loudly;
/// under CI=true a missing dependency fails the test.
fn require(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{what} is missing, and CI=true: .ci/run must install it");
    }
    eprintln!("\n*** SKIPPED: {what} is missing ***\n");
    false
}

/// Each test named runs once per backend, as `NAME::sqlite` and `NAME::postgres`; `BODY` is
/// an `|db: Db| async move { … }` given a new, empty database. Attributes (`#[ignore]`) go
/// on both.
macro_rules! contract {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        mod $name {
            use super::*;
            on_backend!($(#[$meta])* sqlite, Backend::Sqlite, $body);
            on_backend!($(#[$meta])* postgres, Backend::Postgres, $body);
        }
    };
}

macro_rules! on_backend {
    ($(#[$meta:meta])* $test:ident, $backend:expr, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$meta])*
        async fn $test() {
            run($backend, $body).await
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// A file in a temporary directory.
    Sqlite,
    /// A schema of its own on the machine's PostgreSQL (`support/postgres.rs`).
    Postgres,
}

/// One test's database, as the test sees it.
struct Db {
    store: Arc<dyn Store>,
    url: String,
}

/// What keeps a test's database there until the test has ended.
struct Place {
    _dir: Option<TempDir>,
    _schema: Option<postgres::Schema>,
}

impl Db {
    /// Another open of the same database: what another process sees. Its pool is small: it
    /// does one thing at a time, and the server's connections are shared with every test
    /// running.
    async fn reopen(&self) -> Arc<dyn Store> {
        let pool = PoolSettings {
            max_connections: 2,
            ..PoolSettings::default()
        };
        store::open(&self.url, &pool)
            .await
            .unwrap_or_else(|error| panic!("cannot open {} again: {error}", self.url))
    }
}

impl Backend {
    /// A new, empty database, or None when this backend cannot run here (said loudly).
    async fn fresh(self) -> Option<(Db, Place)> {
        let (url, dir, schema) = match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("contract.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let schema = postgres::Schema::fresh().await?;
                (schema.url.clone(), None, Some(schema))
            }
        };
        let store = store::open(&url, &PoolSettings::default())
            .await
            .unwrap_or_else(|error| panic!("{self:?}: cannot open {url}: {error}"));
        let place = Place {
            _dir: dir,
            _schema: schema,
        };
        Some((Db { store, url }, place))
    }
}

async fn run<T, F>(backend: Backend, test: T)
where
    T: FnOnce(Db) -> F,
    F: Future<Output = ()>,
{
    // The place outlives the test and its store.
    if let Some((db, _place)) = backend.fresh().await {
        test(db).await;
    }
}

// ---- Fixtures, built through the store's own methods ----

/// 13 January 2026, 08:00 UTC: the planner's clock when a test plans.
const T0: i64 = 1_768_291_200_000;
/// How long a claim holds its deliveries.
const LEASE: i64 = 60_000;

const SURNAMES: [&str; 6] = [
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems",
];

/// A journalist (taken by `Selection::Media`, no appointment needed) with an e-mail address
/// and a mobile number; languages in turn nl, fr, en.
fn journalist(n: usize) -> NewContact {
    let id = format!("J{n:04}");
    NewContact {
        external_id: id.clone(),
        identities: vec![Identity::media(id)],
        role: Role::Journalist,
        first_name: format!("Reporter{n}"),
        last_name: SURNAMES[n % SURNAMES.len()].into(),
        language: Some(["nl", "fr", "en"][n % 3].into()),
        mobile: Some(format!("+3247{n:07}")),
        phone: None,
        email: Some(format!("reporter{n}@press.example")),
        telegram_chat_id: None,
        organisation: Some("De Gazet".into()),
        birth_date: None,
    }
}

/// Imports `count` journalists and reads them back, in id order.
async fn contacts(store: &dyn Store, count: usize) -> Vec<Contact> {
    let batch: Vec<NewContact> = (0..count).map(journalist).collect();
    let counts = store
        .import(&batch, &[], "press.csv", T0 - 86_400_000)
        .await
        .expect("import journalists");
    assert_eq!(counts.contacts.new, count as u64);
    let mut found = Vec::with_capacity(count);
    let mut after = 0;
    loop {
        let page = store
            .recipients(&Selection::Media, after, 500)
            .await
            .expect("recipients");
        let Some(last) = page.last() else {
            break;
        };
        after = last.contact.id;
        found.extend(page.into_iter().map(|recipient| recipient.contact));
    }
    assert_eq!(found.len(), count);
    found
}

fn patient(number: &str, first: &str, last: &str, born: (i32, u32, u32)) -> NewContact {
    NewContact {
        external_id: number.into(),
        identities: vec![Identity::patient(number)],
        role: Role::Patient,
        first_name: first.into(),
        last_name: last.into(),
        language: Some("nl".into()),
        mobile: None,
        phone: None,
        email: Some(format!("{}@example.be", number.to_lowercase())),
        telegram_chat_id: None,
        organisation: None,
        birth_date: chrono::NaiveDate::from_ymd_opt(born.0, born.1, born.2),
    }
}

fn appointment(external_id: &str, patient: &str, department: &str) -> NewAppointment {
    NewAppointment {
        external_id: external_id.into(),
        patient: Identity::patient(patient),
        gp: None,
        starts_at: chrono::DateTime::from_timestamp_millis(T0 + 3_600_000).expect("instant"),
        campus: "Deurne".into(),
        department: department.into(),
        practitioner: None,
        status: AppointmentStatus::Booked,
    }
}

/// A reference no other update of this run has.
fn reference() -> PublicReference {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Each byte is taken modulo 32: five bits of `n` per character.
    let draw = [(n >> 15) as u8, (n >> 10) as u8, (n >> 5) as u8, n as u8];
    let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 13).expect("date");
    PublicReference::new("AZT", date, draw)
}

fn new_update() -> NewUpdate {
    let text = |language: &str| UpdateText {
        title: format!("IT outage ({language})"),
        body: format!("The hospital's IT is down ({language})."),
        sms: format!("AZT: IT down ({language})"),
    };
    NewUpdate {
        incident_id: "2026-01-13-it".into(),
        incident_title: "IT outage".into(),
        kind: UpdateKind::Alert,
        follows: None,
        audiences: vec![AudienceSpec::Media],
        channels: vec![Email, Sms],
        appointments: AppointmentOutcome::Cancelled,
        author: "Author One".into(),
        cap: CapFields::default(),
        nl: text("nl"),
        fr: text("fr"),
        en: text("en"),
    }
}

async fn draft(store: &dyn Store) -> i64 {
    store
        .insert_update(&new_update(), &reference(), T0 - 60_000)
        .await
        .expect("insert update")
}

/// An update approved by a second person and being sent.
async fn sending(store: &dyn Store) -> i64 {
    let id = draft(store).await;
    store
        .approve_update(id, "Approver Two", T0 - 30_000)
        .await
        .expect("approve");
    store
        .set_update_state(id, UpdateState::Sending)
        .await
        .expect("sending");
    id
}

/// A pending delivery with a message of its own.
fn row(update_id: i64, contact: &Contact, channel: ChannelKind) -> NewDelivery {
    let language = contact
        .language
        .as_deref()
        .and_then(|language| Language::parse(language).ok())
        .unwrap_or(Language::En);
    let email = channel == Email;
    NewDelivery {
        update_id,
        contact_id: contact.id,
        channel,
        address: contact.address(channel).map(str::to_string),
        language,
        content: RenderedMessage {
            subject: email.then(|| format!("Update {update_id} for {}", contact.first_name)),
            body: format!(
                "Dear {}, update {update_id} by {channel}: the hospital's IT is down.",
                contact.full_name()
            ),
            body_html: email.then(|| format!("<p>Dear {}, the IT is down.</p>", contact.id)),
        },
        state: Pending,
        detail: None,
    }
}

/// A delivery planned as skipped, with why.
fn skipped(update_id: i64, contact: &Contact, channel: ChannelKind, why: &str) -> NewDelivery {
    NewDelivery {
        address: None,
        content: RenderedMessage::default(),
        state: Skipped,
        detail: Some(why.into()),
        ..row(update_id, contact, channel)
    }
}

/// Plans `rows` (of one update) in one plan due at `at_ms`; returns how many were new.
async fn plan(store: &dyn Store, rows: &[NewDelivery], at_ms: i64) -> u64 {
    let mut plan = store.begin_plan(at_ms).await.expect("begin plan");
    let new = plan.insert(rows).await.expect("insert rows");
    plan.commit(rows[0].update_id, at_ms)
        .await
        .expect("commit plan");
    new
}

/// Claims up to `limit` deliveries due at `at_ms`, leased for [`LEASE`].
async fn claim(store: &dyn Store, update_id: i64, at_ms: i64, limit: u32) -> Vec<ClaimedDelivery> {
    store
        .claim_due(update_id, at_ms, at_ms + LEASE, limit)
        .await
        .expect("claim")
}

async fn stored(
    store: &dyn Store,
    update_id: i64,
    contact_id: i64,
    channel: ChannelKind,
) -> StoredDelivery {
    store
        .delivery(update_id, contact_id, channel)
        .await
        .expect("read delivery")
        .unwrap_or_else(|| panic!("no {channel} delivery of update {update_id} to {contact_id}"))
}

/// The claimed delivery as stored now.
async fn now(store: &dyn Store, claimed: &ClaimedDelivery) -> StoredDelivery {
    stored(
        store,
        claimed.update_id,
        claimed.contact_id,
        claimed.channel,
    )
    .await
}

/// The holder of `claimed` moves it to `to`.
fn moved(claimed: &ClaimedDelivery, to: DeliveryState, at_ms: i64) -> Transition {
    Transition {
        delivery_id: claimed.id,
        from: Sending,
        to,
        at_ms,
        next_attempt_at_ms: None,
        gateway_id: None,
        detail: None,
        mark: Mark::Nothing,
        lease_until_ms: Some(claimed.lease_until_ms),
    }
}

/// The holder of `claimed` records that the server has the message now.
fn handed_over(claimed: &ClaimedDelivery, at_ms: i64) -> Transition {
    Transition {
        mark: Mark::HandedOver,
        ..moved(claimed, Sending, at_ms)
    }
}

async fn record(store: &dyn Store, transitions: &[Transition]) -> Vec<bool> {
    store.record(transitions).await.expect("record")
}

fn kannel(message_id: &str, status: &str, state: DeliveryState, at_ms: i64) -> Receipt {
    Receipt {
        gateway: "kannel".into(),
        message_id: Some(message_id.into()),
        delivery_id: None,
        verified: false,
        status: status.into(),
        state,
        code: None,
        text: None,
        at_ms,
    }
}

async fn events(
    store: &dyn Store,
    delivery_id: i64,
) -> Vec<(Option<String>, String, Option<String>)> {
    store.events(delivery_id).await.expect("events")
}

fn ids(claimed: &[ClaimedDelivery]) -> Vec<i64> {
    let mut ids: Vec<i64> = claimed.iter().map(|delivery| delivery.id).collect();
    ids.sort_unstable();
    ids
}

// ---- Planning ----

contract!(
    a_plan_writes_each_delivery_once_and_marks_the_update_planned,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 2).await;
        let update = draft(store).await;
        assert_eq!(store.planned_at(update).await.expect("planned at"), None);
        let mut rows: Vec<NewDelivery> = people
            .iter()
            .flat_map(|contact| [row(update, contact, Email), row(update, contact, Sms)])
            .collect();

        let mut writer = store.begin_plan(T0).await.expect("begin plan");
        assert_eq!(writer.insert(&rows).await.expect("insert"), 4);
        assert_eq!(
            writer.insert(&rows).await.expect("insert again"),
            0,
            "the same rows twice in one plan"
        );
        writer.commit(update, T0 + 5).await.expect("commit");
        assert_eq!(
            store.planned_at(update).await.expect("planned at"),
            Some(T0 + 5)
        );

        // A planner that runs again (a restart) adds only what is missing; what exists
        // keeps its message, and the update the time it was first planned.
        let first = rows[0].content.clone();
        rows[0].content.body = "another text".into();
        rows.push(skipped(update, &people[0], Telegram, "no Telegram chat"));
        assert_eq!(plan(store, &rows, T0 + 10).await, 1);
        assert_eq!(
            store.planned_at(update).await.expect("planned at"),
            Some(T0 + 5)
        );

        let email = stored(store, update, people[0].id, Email).await;
        assert_eq!(email.state, Pending);
        assert_eq!(email.attempts, 0);
        assert_eq!(email.content, first);
        assert_eq!(email.address, people[0].email);
        assert_eq!(email.language, Language::Nl);
        assert_eq!(
            events(store, email.id).await,
            [(None, "pending".to_string(), None)]
        );
        let telegram = stored(store, update, people[0].id, Telegram).await;
        assert_eq!(telegram.state, Skipped);
        assert_eq!(telegram.last_error.as_deref(), Some("no Telegram chat"));
        assert_eq!(
            events(store, telegram.id).await,
            [(
                None,
                "skipped".to_string(),
                Some("no Telegram chat".to_string())
            )]
        );
        let total: u64 = store
            .status(update)
            .await
            .expect("status")
            .iter()
            .map(|row| row.count)
            .sum();
        assert_eq!(total, 5);
    }
);

contract!(a_plan_is_written_whole_or_not_at_all, |db: Db| async move {
    let store = &*db.store;
    let people = contacts(store, 1).await;
    let update = draft(store).await;
    let mut writer = store.begin_plan(T0).await.expect("begin plan");
    assert_eq!(
        writer
            .insert(&[row(update, &people[0], Email)])
            .await
            .expect("insert"),
        1
    );
    drop(writer);
    assert!(store
        .delivery(update, people[0].id, Email)
        .await
        .expect("delivery")
        .is_none());
    assert_eq!(store.planned_at(update).await.expect("planned at"), None);
    assert!(claim(store, update, T0, 10).await.is_empty());
    // The store is usable after a plan given up.
    assert_eq!(plan(store, &[row(update, &people[0], Email)], T0).await, 1);
});

// ---- Claims and leases ----

contract!(
    a_claim_leases_due_deliveries_and_counts_the_attempt,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 3).await;
        let update = draft(store).await;
        let other = draft(store).await;
        let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Email)).collect();
        plan(store, &rows, T0).await;
        plan(store, &[row(other, &people[0], Sms)], T0).await;

        assert!(
            claim(store, update, T0 - 1, 10).await.is_empty(),
            "nothing is due before its time"
        );
        let first = claim(store, update, T0, 2).await;
        assert_eq!(first.len(), 2, "no more than the limit");
        let rest = claim(store, update, T0, 10).await;
        assert_eq!(rest.len(), 1, "the rest, not what is leased");
        let mut all: Vec<ClaimedDelivery> = first.into_iter().chain(rest).collect();
        all.sort_by_key(|delivery| delivery.contact_id);
        for (delivery, planned) in all.iter().zip(&rows) {
            assert_eq!(delivery.update_id, update);
            assert_eq!(delivery.contact_id, planned.contact_id);
            assert_eq!(delivery.channel, Email);
            assert_eq!(Some(&delivery.address), planned.address.as_ref());
            assert_eq!(delivery.language, planned.language);
            assert_eq!(delivery.content, planned.content);
            assert_eq!(delivery.attempts, 1);
            assert_eq!(delivery.lease_until_ms, T0 + LEASE);
            assert_eq!(delivery.reply_to, None);
            let now = now(store, delivery).await;
            assert_eq!((now.state, now.attempts), (Sending, 1));
            assert_eq!(
                events(store, delivery.id).await,
                [
                    (None, "pending".to_string(), None),
                    (Some("pending".to_string()), "sending".to_string(), None)
                ]
            );
        }
        assert!(claim(store, update, T0 + LEASE - 1, 10).await.is_empty());
        let backlog = store.backlog(update).await.expect("backlog");
        assert_eq!(
            (backlog.open, backlog.held, backlog.next_due_ms),
            (3, 0, Some(T0 + LEASE))
        );
        let others = claim(store, other, T0, 10).await;
        assert_eq!(
            others.len(),
            1,
            "another update's deliveries were left alone"
        );
    }
);

contract!(an_expired_lease_is_claimed_again, |db: Db| async move {
    let store = &*db.store;
    let people = contacts(store, 1).await;
    let update = draft(store).await;
    plan(store, &[row(update, &people[0], Sms)], T0).await;
    let first = claim(store, update, T0, 10).await;
    assert_eq!(first.len(), 1);
    assert!(claim(store, update, T0 + LEASE - 1, 10).await.is_empty());
    let second = claim(store, update, T0 + LEASE, 10).await;
    assert_eq!(ids(&second), ids(&first));
    assert_eq!(second[0].attempts, 2);
    assert_eq!(second[0].lease_until_ms, T0 + 2 * LEASE);
    let history = events(store, first[0].id).await;
    let (from, to, detail) = history.last().expect("an event");
    assert_eq!((from.as_deref(), to.as_str()), (Some("sending"), "sending"));
    assert!(
        detail
            .as_deref()
            .is_some_and(|detail| detail.contains("lease")),
        "{detail:?}"
    );
});

contract!(
    a_handed_over_delivery_whose_lease_expired_becomes_uncertain,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 2).await;
        let update = draft(store).await;
        let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Email)).collect();
        plan(store, &rows, T0).await;
        let claimed = claim(store, update, T0, 10).await;
        assert_eq!(claimed.len(), 2);
        let (given, other) = (&claimed[0], &claimed[1]);
        assert_eq!(record(store, &[handed_over(given, T0 + 1)]).await, [true]);
        let now_given = now(store, given).await;
        assert_eq!((now_given.state, now_given.attempts), (Sending, 1));

        assert!(claim(store, update, T0 + LEASE - 1, 10).await.is_empty());
        // The worker died between the handover and the server's answer.
        let again = claim(store, update, T0 + LEASE, 10).await;
        assert_eq!(ids(&again), [other.id], "only the one not handed over");
        let uncertain = now(store, given).await;
        assert_eq!((uncertain.state, uncertain.attempts), (Uncertain, 1));
        assert!(uncertain.last_error.is_some(), "it says why");
        assert_eq!(
            record(store, &[moved(given, Sent, T0 + LEASE + 1)]).await,
            [false],
            "the dead worker's answer comes too late"
        );
        assert_eq!(now(store, given).await.state, Uncertain);
        let backlog = store.backlog(update).await.expect("backlog");
        assert_eq!(backlog.open, 1);
    }
);

contract!(
    a_handover_keeps_the_lease_until_the_answer,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1).await;
        let update = draft(store).await;
        plan(store, &[row(update, &people[0], Email)], T0).await;
        let claimed = claim(store, update, T0, 10).await;
        let delivery = &claimed[0];
        assert_eq!(
            record(store, &[handed_over(delivery, T0 + 1)]).await,
            [true]
        );
        let sent = Transition {
            gateway_id: Some("smtp:<m1@azt>".into()),
            ..moved(delivery, Sent, T0 + 2)
        };
        assert_eq!(record(store, &[sent]).await, [true]);
        let now = now(store, delivery).await;
        assert_eq!(now.state, Sent);
        assert_eq!(now.gateway_id.as_deref(), Some("smtp:<m1@azt>"));
        assert!(claim(store, update, T0 + 10 * LEASE, 10).await.is_empty());
        assert_eq!(store.backlog(update).await.expect("backlog").open, 0);
    }
);

contract!(
    an_attempt_that_never_reached_a_server_is_given_back,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1).await;
        let update = draft(store).await;
        plan(store, &[row(update, &people[0], Sms)], T0).await;
        let first = claim(store, update, T0, 10).await;
        let back = Transition {
            mark: Mark::NotAttempted,
            next_attempt_at_ms: Some(T0 + 5_000),
            detail: Some("gateway unavailable".into()),
            ..moved(&first[0], Pending, T0 + 1)
        };
        assert_eq!(record(store, &[back]).await, [true]);
        let now_first = now(store, &first[0]).await;
        assert_eq!((now_first.state, now_first.attempts), (Pending, 0));
        assert_eq!(now_first.last_error.as_deref(), Some("gateway unavailable"));
        assert!(claim(store, update, T0 + 4_999, 10).await.is_empty());
        let second = claim(store, update, T0 + 5_000, 10).await;
        assert_eq!(second[0].attempts, 1);

        // A failure with a retry ahead is due at its time, and counts.
        let retry = Transition {
            next_attempt_at_ms: Some(T0 + 20_000),
            detail: Some("451 try later".into()),
            ..moved(&second[0], Failed, T0 + 5_001)
        };
        assert_eq!(record(store, &[retry]).await, [true]);
        let backlog = store.backlog(update).await.expect("backlog");
        assert_eq!((backlog.open, backlog.next_due_ms), (1, Some(T0 + 20_000)));
        assert!(claim(store, update, T0 + 19_999, 10).await.is_empty());
        let third = claim(store, update, T0 + 20_000, 10).await;
        assert_eq!(third[0].attempts, 2);
    }
);

contract!(
    no_delivery_is_claimed_twice_by_concurrent_workers,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1_000).await;
        let update = draft(store).await;
        let rows: Vec<NewDelivery> = people
            .iter()
            .flat_map(|contact| [row(update, contact, Email), row(update, contact, Sms)])
            .collect();
        assert_eq!(plan(store, &rows, T0).await, 2_000);
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..8 {
            // Each worker opens the database itself, as a process of its own would.
            let worker = db.reopen().await;
            workers.spawn(async move {
                let mut claimed = Vec::new();
                loop {
                    let batch = worker
                        .claim_due(update, T0, T0 + LEASE, 25)
                        .await
                        .expect("claim");
                    if batch.is_empty() {
                        return claimed;
                    }
                    claimed.extend(batch.into_iter().map(|d| (d.id, d.attempts)));
                }
            });
        }
        let mut all = Vec::new();
        while let Some(claimed) = workers.join_next().await {
            all.extend(claimed.expect("worker"));
        }
        let unique: HashSet<i64> = all.iter().map(|(id, _)| *id).collect();
        assert_eq!(all.len(), 2_000, "every delivery claimed once");
        assert_eq!(unique.len(), 2_000, "none twice");
        assert!(all.iter().all(|(_, attempts)| *attempts == 1));
        assert!(claim(store, update, T0, 10).await.is_empty());
        let status = store.status(update).await.expect("status");
        assert!(status.iter().all(|row| row.state == Sending));
        assert_eq!(status.iter().map(|row| row.count).sum::<u64>(), 2_000);
    }
);

// ---- Transitions ----

contract!(
    a_transition_from_a_state_left_already_changes_nothing,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1).await;
        let update = draft(store).await;
        plan(store, &[row(update, &people[0], Email)], T0).await;
        let claimed = claim(store, update, T0, 10).await;
        let delivery = &claimed[0];
        let before = events(store, delivery.id).await;
        let stale = Transition {
            from: Pending,
            lease_until_ms: None,
            ..moved(delivery, Cancelled, T0 + 1)
        };
        let also_stale = Transition {
            from: Failed,
            ..moved(delivery, Sending, T0 + 1)
        };
        assert_eq!(record(store, &[stale, also_stale]).await, [false, false]);
        let now = now(store, delivery).await;
        assert_eq!((now.state, now.attempts), (Sending, 1));
        assert_eq!(events(store, delivery.id).await, before);
    }
);

contract!(
    a_transition_under_a_lease_taken_over_changes_nothing,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1).await;
        let update = draft(store).await;
        plan(store, &[row(update, &people[0], Email)], T0).await;
        let old = claim(store, update, T0, 10).await.remove(0);
        let new = claim(store, update, T0 + LEASE, 10).await.remove(0);
        assert_eq!(old.id, new.id);
        let before = events(store, old.id).await;
        assert_eq!(
            record(store, &[moved(&old, Failed, T0 + LEASE + 1)]).await,
            [false]
        );
        assert_eq!(
            record(store, &[handed_over(&old, T0 + LEASE + 1)]).await,
            [false]
        );
        assert_eq!(now(store, &new).await.state, Sending);
        assert_eq!(events(store, old.id).await, before);
        assert_eq!(
            record(store, &[moved(&new, Sent, T0 + LEASE + 2)]).await,
            [true]
        );
        assert_eq!(now(store, &new).await.state, Sent);
    }
);

contract!(
    a_transition_the_state_machine_forbids_is_refused,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 2).await;
        let update = draft(store).await;
        let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Email)).collect();
        plan(store, &rows, T0).await;
        let claimed = claim(store, update, T0, 1).await.remove(0);
        assert_eq!(
            record(store, &[moved(&claimed, Sent, T0 + 1)]).await,
            [true]
        );
        let back = Transition {
            from: Sent,
            lease_until_ms: None,
            ..moved(&claimed, Sending, T0 + 2)
        };
        let skipped_after_sent = Transition {
            from: Sent,
            lease_until_ms: None,
            ..moved(&claimed, Skipped, T0 + 2)
        };
        assert_eq!(
            record(store, &[back, skipped_after_sent]).await,
            [false, false]
        );
        assert_eq!(now(store, &claimed).await.state, Sent);

        let waiting = stored(store, update, people[1].id, Email).await;
        assert_eq!(waiting.state, Pending);
        let leap = Transition {
            delivery_id: waiting.id,
            from: Pending,
            to: Delivered,
            at_ms: T0 + 3,
            next_attempt_at_ms: None,
            gateway_id: None,
            detail: None,
            mark: Mark::Nothing,
            lease_until_ms: None,
        };
        let handover_unclaimed = Transition {
            to: Pending,
            mark: Mark::HandedOver,
            ..leap.clone()
        };
        assert_eq!(
            record(store, &[leap, handover_unclaimed]).await,
            [false, false]
        );
        assert_eq!(
            stored(store, update, people[1].id, Email).await.state,
            Pending
        );
        assert_eq!(events(store, waiting.id).await.len(), 1);
    }
);

contract!(
    a_halt_cancels_what_has_not_left_and_refuses_later_handovers,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 6).await;
        let update = sending(store).await;
        let now_rows: Vec<NewDelivery> =
            people[..5].iter().map(|c| row(update, c, Email)).collect();
        plan(store, &now_rows, T0).await;
        // Planned for later: pending when the halt comes.
        plan(store, &[row(update, &people[5], Email)], T0 + 3_600_000).await;
        let mut claimed = claim(store, update, T0, 10).await;
        claimed.sort_by_key(|delivery| delivery.contact_id);
        let [not_left, accepted_late, given, retrying, done] = &claimed[..] else {
            panic!("5 claimed: {claimed:?}");
        };
        let retry = Transition {
            next_attempt_at_ms: Some(T0 + 30_000),
            ..moved(retrying, Failed, T0 + 1)
        };
        assert_eq!(
            record(
                store,
                &[handed_over(given, T0 + 1), retry, moved(done, Sent, T0 + 1)]
            )
            .await,
            [true, true, true]
        );

        let cancelled = store
            .halt_update(update, "Chief Medical", T0 + 2)
            .await
            .expect("halt");
        assert_eq!(
            cancelled, 4,
            "claimed but not handed over (2), waiting for a retry, pending"
        );
        assert_eq!(
            store.update_state(update).await.expect("state"),
            UpdateState::Halted
        );
        for delivery in [not_left, accepted_late, retrying] {
            assert_eq!(now(store, delivery).await.state, Cancelled);
        }
        assert_eq!(
            stored(store, update, people[5].id, Email).await.state,
            Cancelled
        );
        assert_eq!(
            now(store, given).await.state,
            Sending,
            "in the server's hands"
        );
        assert_eq!(now(store, done).await.state, Sent);

        assert_eq!(
            record(store, &[handed_over(not_left, T0 + 3)]).await,
            [false],
            "nothing more leaves"
        );
        assert_eq!(now(store, not_left).await.state, Cancelled);
        // A gateway that took the message as the halt came: the record says it left.
        let late = Transition {
            gateway_id: Some("kannel:late-1".into()),
            ..moved(accepted_late, Sent, T0 + 3)
        };
        assert_eq!(record(store, &[late]).await, [true]);
        let late = now(store, accepted_late).await;
        assert_eq!(late.state, Sent);
        assert_eq!(late.gateway_id.as_deref(), Some("kannel:late-1"));
        let history = events(store, accepted_late.id).await;
        let (from, to, _) = history.last().expect("an event");
        assert_eq!((from.as_deref(), to.as_str()), (Some("cancelled"), "sent"));
        assert_eq!(record(store, &[moved(given, Sent, T0 + 4)]).await, [true]);
        assert!(
            claim(store, update, T0 + 10 * 3_600_000, 10)
                .await
                .is_empty(),
            "nothing is due after a halt"
        );

        store
            .set_update_state(update, UpdateState::Sent)
            .await
            .expect("set state");
        assert_eq!(
            store.update_state(update).await.expect("state"),
            UpdateState::Halted,
            "a halted update stays halted"
        );
        let log = store.update_events(update).await.expect("update events");
        let halted = log.last().expect("an update event");
        assert_eq!(halted.action, "halted");
        assert_eq!(halted.by.as_deref(), Some("Chief Medical"));
        assert_eq!(halted.at_ms, T0 + 2);
        assert!(matches!(
            store.halt_update(update, "Chief Medical", T0 + 5).await,
            Err(StoreError::NotFound(_))
        ));
        let a_draft = draft(store).await;
        assert!(matches!(
            store.halt_update(a_draft, "Chief Medical", T0 + 5).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

// ---- Receipts ----

contract!(a_receipt_applies_once, |db: Db| async move {
    let store = &*db.store;
    let people = contacts(store, 2).await;
    let update = draft(store).await;
    let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Sms)).collect();
    plan(store, &rows, T0).await;
    let mut claimed = claim(store, update, T0, 10).await;
    claimed.sort_by_key(|delivery| delivery.contact_id);
    let sent: Vec<Transition> = claimed
        .iter()
        .enumerate()
        .map(|(n, delivery)| Transition {
            gateway_id: Some(format!("kannel:m-{n}")),
            ..moved(delivery, Sent, T0 + 1)
        })
        .collect();
    assert_eq!(record(store, &sent).await, [true, true]);

    let delivered = kannel("m-0", "1", Delivered, T0 + 10);
    let receipts =
        |batch: Vec<Receipt>| async move { store.record_receipts(&batch).await.expect("receipts") };
    assert_eq!(
        receipts(vec![delivered.clone()]).await,
        [ReceiptEffect::Applied]
    );
    assert_eq!(now(store, &claimed[0]).await.state, Delivered);
    let before = events(store, claimed[0].id).await;
    assert_eq!(receipts(vec![delivered]).await, [ReceiptEffect::Duplicate]);
    assert_eq!(events(store, claimed[0].id).await, before);

    assert_eq!(
        receipts(vec![kannel("m-999", "1", Delivered, T0 + 11)]).await,
        [ReceiptEffect::Unknown]
    );
    let elsewhere = Receipt {
        gateway: "vonage".into(),
        ..kannel("m-0", "1", Delivered, T0 + 11)
    };
    assert_eq!(
        receipts(vec![elsewhere]).await,
        [ReceiptEffect::Unknown],
        "the gateway is part of the id"
    );

    // A later report that contradicts `delivered` is kept, and changes nothing.
    assert_eq!(
        receipts(vec![kannel("m-0", "16", Failed, T0 + 12)]).await,
        [ReceiptEffect::Noted]
    );
    assert_eq!(now(store, &claimed[0]).await.state, Delivered);
    assert_eq!(events(store, claimed[0].id).await.len(), before.len() + 1);

    // The same report twice in one batch, and a `sent` report (an event only).
    let failed = kannel("m-1", "16", Failed, T0 + 13);
    assert_eq!(
        receipts(vec![
            kannel("m-1", "8", Sent, T0 + 12),
            failed.clone(),
            failed
        ])
        .await,
        [
            ReceiptEffect::Noted,
            ReceiptEffect::Applied,
            ReceiptEffect::Duplicate
        ]
    );
    let second = now(store, &claimed[1]).await;
    assert_eq!(second.state, Failed);
    assert!(second
        .last_error
        .is_some_and(|error| error.contains("kannel receipt: 16")));
});

contract!(
    a_verified_receipt_may_come_before_the_send_is_recorded,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1).await;
        let update = draft(store).await;
        plan(store, &[row(update, &people[0], Sms)], T0).await;
        let delivery = claim(store, update, T0, 10).await.remove(0);
        let by_id = |verified: bool, status: &str| Receipt {
            message_id: None,
            delivery_id: Some(delivery.id),
            verified,
            ..kannel("", status, Delivered, T0 + 5)
        };
        assert_eq!(
            store
                .record_receipts(&[by_id(false, "1")])
                .await
                .expect("receipts"),
            [ReceiptEffect::Unknown],
            "an unsigned receipt must name the message"
        );
        assert_eq!(
            store
                .record_receipts(&[by_id(true, "1")])
                .await
                .expect("receipts"),
            [ReceiptEffect::Applied]
        );
        assert_eq!(now(store, &delivery).await.state, Delivered);

        // The worker's record comes after: stale, but the message's id is still its own.
        let sent = Transition {
            gateway_id: Some("kannel:m-8".into()),
            ..moved(&delivery, Sent, T0 + 6)
        };
        assert_eq!(record(store, &[sent]).await, [false]);
        let now = now(store, &delivery).await;
        assert_eq!(now.state, Delivered);
        assert_eq!(now.gateway_id.as_deref(), Some("kannel:m-8"));
        assert_eq!(
            store
                .record_receipts(&[kannel("m-8", "2", Delivered, T0 + 7)])
                .await
                .expect("receipts"),
            [ReceiptEffect::Noted],
            "found by the id the stale record left"
        );
    }
);

// ---- Fallback ----

contract!(
    an_sms_that_did_not_arrive_calls_for_the_fallback_once,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 5).await;
        let update = draft(store).await;
        let mut rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Sms)).collect();
        rows.push(row(update, &people[0], Email));
        plan(store, &rows, T0).await;
        let mut claimed = claim(store, update, T0, 10).await;
        claimed.retain(|delivery| delivery.channel == Sms);
        claimed.sort_by_key(|delivery| delivery.contact_id);
        let [refused, failed, retrying, silent, other_gateway] = &claimed[..] else {
            panic!("5 SMS claimed: {claimed:?}");
        };
        let transitions = [
            moved(refused, Undeliverable, T0 + 1),
            moved(failed, Failed, T0 + 1),
            Transition {
                next_attempt_at_ms: Some(T0 + 60_000),
                ..moved(retrying, Failed, T0 + 1)
            },
            Transition {
                gateway_id: Some("kannel:s-1".into()),
                ..moved(silent, Sent, T0 + 1)
            },
            Transition {
                gateway_id: Some("smsbox:s-2".into()),
                ..moved(other_gateway, Sent, T0 + 1)
            },
        ];
        assert_eq!(record(store, &transitions).await, [true; 5]);

        let due = |rule: FallbackRule, after_id: i64, limit: u32| async move {
            store
                .fallback_due(update, &rule, after_id, limit)
                .await
                .expect("fallback due")
        };
        let finals = || FallbackRule {
            silent_since_ms: None,
            receipt_gateways: Vec::new(),
        };
        let silence = |since: i64| FallbackRule {
            silent_since_ms: Some(since),
            receipt_gateways: vec!["kannel".into()],
        };
        let listed = |found: Vec<FallbackDue>| -> Vec<i64> {
            found.iter().map(|due| due.delivery_id).collect()
        };
        let found = due(finals(), 0, 100).await;
        assert_eq!(
            found,
            [
                FallbackDue {
                    delivery_id: refused.id,
                    contact_id: refused.contact_id,
                    state: Undeliverable,
                    planned: vec![Email],
                },
                FallbackDue {
                    delivery_id: failed.id,
                    contact_id: failed.contact_id,
                    state: Failed,
                    planned: Vec::new(),
                },
            ]
        );
        let mut by_id = vec![refused.id, failed.id];
        by_id.sort_unstable();
        assert_eq!(listed(due(finals(), 0, 1).await), by_id[..1]);
        assert_eq!(listed(due(finals(), by_id[0], 100).await), by_id[1..]);
        let mut with_silent = vec![refused.id, failed.id, silent.id];
        with_silent.sort_unstable();
        assert_eq!(listed(due(silence(T0 + 1_000), 0, 100).await), with_silent);
        assert_eq!(
            listed(due(silence(T0), 0, 100).await),
            by_id,
            "not silent long enough"
        );

        let plans = vec![
            FallbackPlan {
                sms_delivery_id: refused.id,
                rows: vec![skipped(update, &people[0], Telegram, "no Telegram chat")],
                note: "fallback: e-mail planned already".into(),
            },
            FallbackPlan {
                sms_delivery_id: failed.id,
                rows: vec![row(update, &people[1], Email)],
                note: "fallback to e-mail".into(),
            },
            // The rule does not take it: nothing happens to it.
            FallbackPlan {
                sms_delivery_id: silent.id,
                rows: vec![row(update, &people[3], Email)],
                note: "fallback to e-mail".into(),
            },
        ];
        assert_eq!(
            store
                .plan_fallback(&finals(), &plans, T0 + 2_000)
                .await
                .expect("plan fallback"),
            2
        );
        assert!(due(finals(), 0, 100).await.is_empty());
        assert_eq!(listed(due(silence(T0 + 1_000), 0, 100).await), [silent.id]);
        assert!(store
            .delivery(update, people[3].id, Email)
            .await
            .expect("delivery")
            .is_none());
        let email = stored(store, update, people[1].id, Email).await;
        assert_eq!(email.state, Pending);
        let history = events(store, failed.id).await;
        assert_eq!(
            history.last(),
            Some(&(
                Some("failed".to_string()),
                "failed".to_string(),
                Some("fallback to e-mail".to_string())
            ))
        );
        assert_eq!(
            stored(store, update, people[0].id, Telegram).await.state,
            Skipped
        );
        assert_eq!(
            store
                .plan_fallback(&finals(), &plans, T0 + 3_000)
                .await
                .expect("plan fallback again"),
            0,
            "dealt with already"
        );
        let fallback = claim(store, update, T0 + 2_000, 10).await;
        assert_eq!(ids(&fallback), [email.id]);
    }
);

// ---- Imports ----

contract!(
    an_import_merges_field_by_field_and_counts_what_it_did,
    |db: Db| async move {
        let store = &*db.store;
        let (a, mut b) = (journalist(1), journalist(2));
        let counts = store
            .import(&[a.clone(), b.clone()], &[], "press.csv", T0)
            .await
            .expect("import");
        assert_eq!(
            (counts.contacts, counts.conflicts),
            (
                MergeCounts {
                    new: 2,
                    updated: 0,
                    unchanged: 0
                },
                0
            )
        );
        b.email = Some("newsdesk@press.example".into());
        let counts = store
            .import(&[a.clone(), b.clone()], &[], "press.csv", T0 + 1)
            .await
            .expect("import again");
        assert_eq!(
            counts.contacts,
            MergeCounts {
                new: 0,
                updated: 1,
                unchanged: 1
            }
        );
        let found = |key: &'static str| async move {
            store
                .find_contact(key)
                .await
                .expect("find")
                .unwrap_or_else(|| panic!("{key} not found"))
        };
        assert_eq!(
            found("media:J0002").await.email.as_deref(),
            Some("newsdesk@press.example")
        );
        // An export that leaves a field empty keeps what is known.
        b.email = None;
        b.mobile = None;
        let counts = store
            .import(&[b.clone()], &[], "other.csv", T0 + 2)
            .await
            .expect("import without addresses");
        assert_eq!(
            counts.contacts,
            MergeCounts {
                new: 0,
                updated: 0,
                unchanged: 1
            }
        );
        let known = found("media:J0002").await;
        assert_eq!(known.email.as_deref(), Some("newsdesk@press.example"));
        assert_eq!(known.mobile.as_deref(), Some("+32470000002"));
        assert_eq!(found("newsdesk@press.example").await.id, known.id);
        assert_eq!(found("J0002").await.id, known.id);
        assert_eq!(
            store
                .find_contact(&format!("id:{}", known.id))
                .await
                .expect("find")
                .map(|contact| contact.external_id),
            Some("J0002".to_string())
        );
        assert!(store.find_contact("J9999").await.expect("find").is_none());
    }
);

contract!(
    appointments_merge_and_say_where_they_are_booked,
    |db: Db| async move {
        let store = &*db.store;
        let jan = [patient("P1", "Jan", "Peeters", (1970, 1, 1))];
        let booked = [appointment("A1", "P1", "cardiology")];
        let counts = store
            .import(&jan, &booked, "his.csv", T0)
            .await
            .expect("import");
        assert_eq!(
            counts.appointments,
            MergeCounts {
                new: 1,
                updated: 0,
                unchanged: 0
            }
        );
        let counts = store
            .import(&jan, &booked, "his.csv", T0 + 1)
            .await
            .expect("import again");
        assert_eq!(
            (counts.contacts.unchanged, counts.appointments.unchanged),
            (1, 1)
        );
        let [booked] = booked;
        let moved_to = NewAppointment {
            department: "radiology".into(),
            ..booked
        };
        // The patient is known already: the appointments alone.
        let counts = store
            .import(&[], &[moved_to], "his.csv", T0 + 2)
            .await
            .expect("import a change");
        assert_eq!(
            counts.appointments,
            MergeCounts {
                new: 0,
                updated: 1,
                unchanged: 0
            }
        );
        let places = store.booked_places().await.expect("places");
        assert_eq!(places.len(), 1);
        assert_eq!(
            (
                places[0].campus.as_str(),
                places[0].department.as_str(),
                places[0].appointments
            ),
            ("Deurne", "radiology", 1)
        );
        assert_eq!(places[0].first_ms, T0 + 3_600_000);
        let patients = store
            .recipients(&Selection::Patients(AppointmentWindow::default()), 0, 10)
            .await
            .expect("patients");
        assert_eq!(patients.len(), 1);
        assert_eq!(patients[0].contact.first_name, "Jan");
        assert_eq!(patients[0].appointments.len(), 1);
        assert_eq!(patients[0].appointments[0].department, "radiology");
        assert!(matches!(
            store
                .import(&[], &[appointment("A2", "P404", "x")], "his.csv", T0 + 3)
                .await,
            Err(StoreError::NotFound(_))
        ));
    }
);

contract!(
    a_record_that_cannot_be_the_contact_is_held_for_a_person,
    |db: Db| async move {
        let store = &*db.store;
        let jan = patient("P1", "Jan", "Peeters", (1970, 1, 1));
        let ann = patient("P2", "Ann", "Maes", (1980, 2, 2));
        store
            .import(&[jan.clone(), ann.clone()], &[], "his.csv", T0)
            .await
            .expect("import");
        let known = store
            .find_contact("patient:P1")
            .await
            .expect("find")
            .expect("P1");

        // Another name and another birth date under P1's number, and one under P2's.
        let marie = patient("P1", "Marie", "Dubois", (1985, 5, 5));
        let other = patient("P2", "Bart", "Wouters", (1990, 3, 3));
        let counts = store
            .import(
                &[marie, other],
                &[appointment("A9", "P1", "cardiology")],
                "his-2.csv",
                T0 + 1,
            )
            .await
            .expect("import conflicting records");
        assert_eq!(counts.conflicts, 2);
        assert_eq!(counts.contacts, MergeCounts::default());
        assert_eq!(counts.appointments, MergeCounts::default(), "held with it");
        let unchanged = store
            .find_contact("patient:P1")
            .await
            .expect("find")
            .expect("P1");
        assert_eq!(unchanged, known);
        assert!(store.booked_places().await.expect("places").is_empty());

        let open = store.import_conflicts(false).await.expect("conflicts");
        assert_eq!(open.len(), 2);
        let first = &open[0];
        assert_eq!(first.state, ConflictState::Open);
        assert_eq!(first.identity, "patient:P1");
        assert_eq!(first.source, "his-2.csv");
        assert_eq!(first.at_ms, T0 + 1);
        assert_eq!(first.contact.as_ref().map(|c| c.id), Some(known.id));
        assert_eq!(first.record.first_name, "Marie");
        assert_eq!(first.appointments.len(), 1);
        assert!(!first.reason.is_empty());

        let counts = store
            .decide_conflict(first.id, true, "Clerk", T0 + 2)
            .await
            .expect("accept");
        assert_eq!(counts.contacts.updated, 1);
        assert_eq!(counts.appointments.new, 1);
        let merged = store
            .find_contact("patient:P1")
            .await
            .expect("find")
            .expect("P1");
        assert_eq!((merged.id, merged.first_name.as_str()), (known.id, "Marie"));
        assert_eq!(store.booked_places().await.expect("places").len(), 1);

        let counts = store
            .decide_conflict(open[1].id, false, "Clerk", T0 + 3)
            .await
            .expect("reject");
        assert_eq!(counts, Default::default());
        assert_eq!(
            store
                .find_contact("patient:P2")
                .await
                .expect("find")
                .map(|c| c.first_name),
            Some("Ann".to_string())
        );

        assert!(store
            .import_conflicts(false)
            .await
            .expect("conflicts")
            .is_empty());
        let decided = store.import_conflicts(true).await.expect("all conflicts");
        assert_eq!(
            decided
                .iter()
                .map(|c| (c.state, c.decided_by.as_deref()))
                .collect::<Vec<_>>(),
            [
                (ConflictState::Accepted, Some("Clerk")),
                (ConflictState::Rejected, Some("Clerk"))
            ]
        );
        assert!(matches!(
            store
                .decide_conflict(first.id, false, "Clerk", T0 + 4)
                .await,
            Err(StoreError::Refused(_))
        ));
        assert!(matches!(
            store.decide_conflict(9_999, true, "Clerk", T0 + 4).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

// ---- Reports ----

fn status_key(row: &StatusRow) -> (DeliveryState, ChannelKind, Language, Option<String>) {
    (row.state, row.channel, row.language, row.gateway.clone())
}

contract!(
    status_counts_deliveries_by_state_channel_and_language,
    |db: Db| async move {
        let store = &*db.store;
        // nl, fr, en, nl, fr
        let people = contacts(store, 5).await;
        let update = draft(store).await;
        let rows: Vec<NewDelivery> = people
            .iter()
            .flat_map(|contact| [row(update, contact, Email), row(update, contact, Sms)])
            .collect();
        plan(store, &rows, T0).await;
        let mut claimed = claim(store, update, T0, 100).await;
        claimed.sort_by_key(|delivery| (delivery.contact_id, delivery.channel));
        // Contacts 0 and 3 (nl): sent; 1 (fr): failed for good; 2 and 4 stay sending.
        let mut transitions = Vec::new();
        for delivery in &claimed {
            let index = people
                .iter()
                .position(|contact| contact.id == delivery.contact_id)
                .expect("a contact of ours");
            let gateway_id = (delivery.channel == Sms).then(|| format!("kannel:{}", delivery.id));
            match index {
                0 | 3 => transitions.push(Transition {
                    gateway_id,
                    ..moved(delivery, Sent, T0 + 1)
                }),
                1 => transitions.push(Transition {
                    detail: Some("550 no such user".into()),
                    ..moved(delivery, Failed, T0 + 1)
                }),
                _ => {}
            }
        }
        assert!(record(store, &transitions)
            .await
            .iter()
            .all(|applied| *applied));
        let mut status = store.status(update).await.expect("status");
        status.sort_by_key(status_key);
        let line = |state, channel, language, gateway: Option<&str>, count| StatusRow {
            state,
            channel,
            language,
            audience: Role::Journalist,
            gateway: gateway.map(str::to_string),
            count,
        };
        let mut expected = vec![
            line(Sent, Email, Language::Nl, None, 2),
            line(Sent, Sms, Language::Nl, Some("kannel"), 2),
            line(Failed, Email, Language::Fr, None, 1),
            line(Failed, Sms, Language::Fr, None, 1),
            line(Sending, Email, Language::En, None, 1),
            line(Sending, Sms, Language::En, None, 1),
            line(Sending, Email, Language::Fr, None, 1),
            line(Sending, Sms, Language::Fr, None, 1),
        ];
        expected.sort_by_key(status_key);
        assert_eq!(status, expected);

        let reasons = store
            .failure_reasons(update)
            .await
            .expect("failure reasons");
        assert_eq!(reasons.len(), 2);
        assert!(reasons.iter().all(|reason| reason.state == Failed
            && reason.count == 1
            && reason.reason.as_deref() == Some("550 no such user")));
    }
);

contract!(
    unreached_lists_whom_nothing_reached_once_nothing_is_left,
    |db: Db| async move {
        let store = &*db.store;
        // Peeters, Janssens, Maes, Jacobs
        let people = contacts(store, 4).await;
        let update = draft(store).await;
        let mut rows: Vec<NewDelivery> = people[..3]
            .iter()
            .flat_map(|contact| [row(update, contact, Email), row(update, contact, Sms)])
            .collect();
        rows.push(skipped(update, &people[3], Telegram, "no Telegram chat"));
        plan(store, &rows, T0).await;
        let claimed = claim(store, update, T0, 100).await;
        let of = |index: usize, channel: ChannelKind| {
            claimed
                .iter()
                .find(|d| d.contact_id == people[index].id && d.channel == channel)
                .expect("claimed")
        };
        let failed_for_good = |index, channel| Transition {
            detail: Some(format!("{channel} refused")),
            ..moved(of(index, channel), Failed, T0 + 1)
        };
        let transitions = [
            // Peeters: every channel failed for good.
            failed_for_good(0, Email),
            Transition {
                detail: Some("unknown subscriber".into()),
                ..moved(of(0, Sms), Undeliverable, T0 + 1)
            },
            // Janssens: one failed, one sent.
            failed_for_good(1, Email),
            moved(of(1, Sms), Sent, T0 + 1),
            // Maes: one failed for good, one with a retry ahead.
            failed_for_good(2, Email),
            Transition {
                next_attempt_at_ms: Some(T0 + 60_000),
                ..moved(of(2, Sms), Failed, T0 + 1)
            },
        ];
        assert_eq!(record(store, &transitions).await, [true; 6]);

        let unreached = store.unreached(update).await.expect("unreached");
        let names: Vec<&str> = unreached
            .iter()
            .map(|u| u.contact.last_name.as_str())
            .collect();
        assert_eq!(
            names,
            ["Jacobs", "Peeters"],
            "by name; Maes still has a retry"
        );
        assert_eq!(
            unreached[1]
                .deliveries
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "email: failed (email refused)",
                "sms: undeliverable (unknown subscriber)"
            ],
            "in the order planned"
        );
        assert_eq!(
            unreached[0].deliveries[0].to_string(),
            "telegram: skipped (no Telegram chat)"
        );

        // Maes's retry fails too.
        let retry = claim(store, update, T0 + 60_000, 10).await;
        assert_eq!(retry.len(), 1);
        assert_eq!(
            record(store, &[moved(&retry[0], Failed, T0 + 60_001)]).await,
            [true]
        );
        let names: Vec<String> = store
            .unreached(update)
            .await
            .expect("unreached")
            .into_iter()
            .map(|u| u.contact.last_name)
            .collect();
        assert_eq!(names, ["Jacobs", "Maes", "Peeters"]);
    }
);

// ---- Update control ----

contract!(
    an_update_is_approved_returned_revoked_and_discarded_by_people,
    |db: Db| async move {
        let store = &*db.store;
        let id = draft(store).await;
        store
            .return_update(id, "Reviewer", "too long", T0)
            .await
            .expect("return");
        store
            .approve_update(id, "Reviewer", T0 + 1)
            .await
            .expect("approve");
        assert!(matches!(
            store.approve_update(id, "Reviewer", T0 + 2).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.return_update(id, "Reviewer", "late", T0 + 2).await,
            Err(StoreError::NotFound(_))
        ));
        let reviews = store.reviews(id).await.expect("reviews");
        assert_eq!(
            reviews
                .iter()
                .map(|r| (r.verdict, r.comment.as_deref()))
                .collect::<Vec<_>>(),
            [
                (Verdict::Returned, Some("too long")),
                (Verdict::Approved, None)
            ]
        );
        let update = store.update(id).await.expect("update");
        assert_eq!(update.state, UpdateState::Approved);
        assert_eq!(update.approved_by.as_deref(), Some("Reviewer"));
        assert_eq!(update.approved_at_ms, Some(T0 + 1));
        assert_eq!(update.nl.title, "IT outage (nl)");
        assert_eq!(
            store
                .update_by_reference(&update.reference)
                .await
                .expect("by reference")
                .map(|u| u.id),
            Some(id)
        );
        let published: Vec<i64> = store
            .published_updates()
            .await
            .expect("published")
            .iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(published, [id]);

        store
            .revoke_approval(id, "Reviewer", T0 + 3)
            .await
            .expect("revoke");
        assert_eq!(
            store.update_state(id).await.expect("state"),
            UpdateState::Draft
        );
        store
            .discard_update(id, "Author One", T0 + 4)
            .await
            .expect("discard");
        store
            .set_update_state(id, UpdateState::Sending)
            .await
            .expect("set state");
        assert_eq!(
            store.update_state(id).await.expect("state"),
            UpdateState::Discarded
        );
        assert!(matches!(
            store.discard_update(id, "Author One", T0 + 5).await,
            Err(StoreError::NotFound(_))
        ));
        let actions: Vec<String> = store
            .update_events(id)
            .await
            .expect("events")
            .into_iter()
            .map(|event| event.action)
            .collect();
        assert_eq!(actions, ["returned", "approved", "revoked", "discarded"]);
        let last = store.last_reviews().await.expect("last reviews");
        assert_eq!(
            last.iter()
                .map(|r| (r.update_id, r.verdict))
                .collect::<Vec<_>>(),
            [(id, Verdict::Approved)]
        );
    }
);

contract!(a_retry_sends_again_what_was_chosen, |db: Db| async move {
    let store = &*db.store;
    let people = contacts(store, 4).await;
    let update = sending(store).await;
    let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Sms)).collect();
    plan(store, &rows, T0).await;
    let mut claimed = claim(store, update, T0, 10).await;
    claimed.sort_by_key(|delivery| delivery.contact_id);
    let [failed, refused, unknown, sent] = &claimed[..] else {
        panic!("4 claimed: {claimed:?}");
    };
    let transitions = [
        Transition {
            detail: Some("503 Gateway Down".into()),
            ..moved(failed, Failed, T0 + 1)
        },
        Transition {
            detail: Some("unknown subscriber".into()),
            ..moved(refused, Undeliverable, T0 + 1)
        },
        Transition {
            detail: Some("the answer was never recorded".into()),
            ..moved(unknown, Uncertain, T0 + 1)
        },
        moved(sent, Sent, T0 + 1),
    ];
    assert_eq!(record(store, &transitions).await, [true; 4]);
    store
        .set_update_state(update, UpdateState::Sent)
        .await
        .expect("sent");

    let retry = |channel, states: Vec<DeliveryState>, reason: Option<&str>| RetryFilter {
        channel,
        states,
        reason: reason.map(str::to_string),
    };
    let again = |filter: RetryFilter, at_ms: i64| async move {
        store
            .retry_deliveries(update, &filter, "Chief", at_ms)
            .await
            .expect("retry")
    };
    assert_eq!(
        again(retry(Some(Email), vec![Failed], None), T0 + 2).await,
        0
    );
    assert_eq!(
        again(retry(None, vec![Sent], None), T0 + 2).await,
        0,
        "only what a person may send again"
    );
    assert_eq!(
        again(retry(None, vec![Failed], Some("gateway down")), T0 + 2).await,
        1,
        "the reason, ignoring case"
    );
    assert_eq!(
        again(
            retry(Some(Sms), vec![Undeliverable, Uncertain], None),
            T0 + 3
        )
        .await,
        2
    );
    assert_eq!(
        store.update_state(update).await.expect("state"),
        UpdateState::Sending
    );
    for delivery in [failed, refused, unknown] {
        let now = now(store, delivery).await;
        assert_eq!((now.state, now.attempts), (Pending, 0));
    }
    assert_eq!(now(store, sent).await.state, Sent);
    assert_eq!(ids(&claim(store, update, T0 + 2, 10).await), [failed.id]);
    let rest = claim(store, update, T0 + 3, 10).await;
    assert_eq!(ids(&rest), {
        let mut both = vec![refused.id, unknown.id];
        both.sort_unstable();
        both
    });
    assert!(rest.iter().all(|delivery| delivery.attempts == 1));
    let log = store.update_events(update).await.expect("events");
    let retried: Vec<_> = log.iter().filter(|e| e.action == "retried").collect();
    assert_eq!(retried.len(), 4);
    assert!(retried.iter().all(|e| e.by.as_deref() == Some("Chief")));
    let a_draft = draft(store).await;
    assert!(matches!(
        store
            .retry_deliveries(a_draft, &retry(None, vec![Failed], None), "Chief", T0)
            .await,
        Err(StoreError::NotFound(_))
    ));
});

contract!(a_hold_keeps_what_waits_until_resumed, |db: Db| async move {
    let store = &*db.store;
    let people = contacts(store, 3).await;
    let update = sending(store).await;
    let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Email)).collect();
    plan(store, &rows, T0).await;
    let claimed = claim(store, update, T0, 2).await;
    let (retrying, in_flight) = (&claimed[0], &claimed[1]);
    let retry = Transition {
        next_attempt_at_ms: Some(T0 + 5_000),
        ..moved(retrying, Failed, T0 + 1)
    };
    assert_eq!(record(store, &[retry]).await, [true]);

    assert_eq!(
        store
            .hold_update(update, "Chief", T0 + 10)
            .await
            .expect("hold"),
        2,
        "the one waiting for its turn and the one waiting for a retry"
    );
    assert_eq!(
        store
            .update_paused(update)
            .await
            .expect("paused")
            .as_deref(),
        Some("paused by Chief")
    );
    let held = now(store, retrying).await;
    assert_eq!((held.state, held.attempts), (Pending, 1));
    assert!(claim(store, update, T0 + 6_000, 10).await.is_empty());
    let backlog = store.backlog(update).await.expect("backlog");
    assert_eq!(
        (backlog.open, backlog.held, backlog.next_due_ms),
        (1, 2, Some(in_flight.lease_until_ms))
    );
    assert!(matches!(
        store.hold_update(update, "Chief", T0 + 11).await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(
        store
            .resume_update(update, T0 + 7_000)
            .await
            .expect("resume"),
        2
    );
    assert_eq!(store.update_paused(update).await.expect("paused"), None);
    let resumed = claim(store, update, T0 + 7_000, 10).await;
    assert_eq!(resumed.len(), 2);
    let again = resumed
        .iter()
        .find(|delivery| delivery.id == retrying.id)
        .expect("the held retry");
    assert_eq!(again.attempts, 2, "its attempts kept");
    assert_eq!(
        store
            .resume_update(update, T0 + 8_000)
            .await
            .expect("resume"),
        0
    );
    let actions: Vec<String> = store
        .update_events(update)
        .await
        .expect("events")
        .into_iter()
        .map(|event| event.action)
        .collect();
    assert_eq!(actions, ["approved", "paused", "resumed"]);
});

contract!(
    a_refused_start_is_logged_once_per_reason,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1).await;
        let update = draft(store).await;
        store
            .approve_update(update, "Approver Two", T0 - 1)
            .await
            .expect("approve");
        assert_eq!(store.start_refusal(update).await.expect("refusal"), None);
        let refuse = |reason: &'static str, at_ms: i64| async move {
            store
                .refuse_start(update, reason, at_ms)
                .await
                .expect("refuse start")
        };
        assert!(refuse("no SMS gateway", T0).await);
        assert!(!refuse("no SMS gateway", T0 + 1).await);
        let refusal = store
            .start_refusal(update)
            .await
            .expect("refusal")
            .expect("one");
        assert_eq!(
            (refusal.at_ms, refusal.reason.as_str()),
            (T0, "no SMS gateway")
        );
        assert!(refuse("the e-mail server refuses us", T0 + 2).await);
        let not_started = store
            .update_events(update)
            .await
            .expect("events")
            .into_iter()
            .filter(|event| event.action == "not started")
            .count();
        assert_eq!(not_started, 2);

        store
            .schedule_update(update, T0 + 3_600_000, "Chief", "at 10:00", T0 + 3)
            .await
            .expect("schedule");
        assert_eq!(store.start_refusal(update).await.expect("refusal"), None);
        assert_eq!(
            store.update(update).await.expect("update").send_at_ms,
            Some(T0 + 3_600_000)
        );
        assert!(refuse("no SMS gateway", T0 + 4).await);
        plan(store, &[row(update, &people[0], Email)], T0 + 5).await;
        assert_eq!(
            store.start_refusal(update).await.expect("refusal"),
            None,
            "planning clears it"
        );
        assert!(matches!(
            store
                .schedule_update(update, T0 + 7_200_000, "Chief", "at 11:00", T0 + 6)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.revoke_approval(update, "Chief", T0 + 6).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

// ---- Accounts ----

fn name(name: &str) -> UserName {
    UserName::parse(name).expect("user name")
}

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

contract!(accounts_are_unique_and_sessions_end, |db: Db| async move {
    let store = &*db.store;
    let password = FirstCredential::PasswordHash(HASH.into());
    let bob = store
        .add_user(&name("bob"), UserRole::Author, &password, T0)
        .await
        .expect("add bob");
    let alice = store
        .add_user(&name("alice"), UserRole::Approver, &password, T0)
        .await
        .expect("add alice");
    assert_eq!(alice.password_hash.as_deref(), Some(HASH));
    assert!(matches!(
        store
            .add_user(&name("alice"), UserRole::Admin, &password, T0)
            .await,
        Err(StoreError::Refused(_))
    ));
    let users: Vec<String> = store
        .users()
        .await
        .expect("users")
        .iter()
        .map(|user| user.name.as_str().to_string())
        .collect();
    assert_eq!(users, ["alice", "bob"]);

    let token = store
        .create_session(alice.id, Some("10.0.0.7"), T0, T0 + 3_600_000)
        .await
        .expect("session");
    let session = store
        .session(&token, T0 + 1)
        .await
        .expect("session")
        .expect("open");
    assert_eq!(session.user.name.as_str(), "alice");
    assert_eq!(session.ip.as_deref(), Some("10.0.0.7"));
    assert!(store
        .session(&token, T0 + 3_600_000)
        .await
        .expect("session")
        .is_none());
    assert!(store
        .session(&SecretToken::presented("forged"), T0 + 1)
        .await
        .expect("session")
        .is_none());
    assert!(store.end_session(&token, T0 + 2).await.expect("end"));
    assert!(!store.end_session(&token, T0 + 3).await.expect("end again"));
    assert!(store
        .session(&token, T0 + 4)
        .await
        .expect("session")
        .is_none());

    let bobs = store
        .create_session(bob.id, None, T0, T0 + 3_600_000)
        .await
        .expect("bob's session");
    let disabled = store
        .disable_user(&name("bob"), T0 + 5)
        .await
        .expect("disable");
    assert_eq!(disabled.disabled_at_ms, Some(T0 + 5));
    assert!(store
        .session(&bobs, T0 + 6)
        .await
        .expect("session")
        .is_none());

    let setup = FirstCredential::SetupToken {
        id: "setup-carol".into(),
        expires_at_ms: T0 + 1_000,
    };
    store
        .add_user(&name("carol"), UserRole::Author, &setup, T0)
        .await
        .expect("add carol");
    assert!(store
        .setup_token_user("setup-carol", T0 + 1_000)
        .await
        .expect("expired")
        .is_none());
    assert_eq!(
        store
            .redeem_setup_token("setup-carol", HASH, T0 + 10)
            .await
            .expect("redeem")
            .map(|user| user.name.as_str().to_string()),
        Some("carol".to_string())
    );
    assert!(store
        .redeem_setup_token("setup-carol", HASH, T0 + 11)
        .await
        .expect("redeem again")
        .is_none());
    assert_eq!(
        store
            .user(&name("carol"))
            .await
            .expect("user")
            .and_then(|user| user.password_hash),
        Some(HASH.to_string())
    );
});

contract!(the_audit_log_reads_newest_first, |db: Db| async move {
    let store = &*db.store;
    store
        .add_user(
            &name("alice"),
            UserRole::Admin,
            &FirstCredential::PasswordHash(HASH.into()),
            T0,
        )
        .await
        .expect("add alice");
    let entry = |at_ms: i64, user: Option<&str>, action: &str| AuditEntry {
        at_ms,
        user: user.map(name),
        action: action.into(),
        target: Some("update 1".into()),
        detail: None,
        remote: Some("10.0.0.7".into()),
    };
    let written = [
        entry(T0 + 2, Some("alice"), "approve"),
        entry(T0 + 1, None, "sign-in failed"),
        entry(T0 + 2, Some("alice"), "halt"),
        entry(T0 + 3, None, "send"),
    ];
    for line in &written {
        store.append_audit(line).await.expect("append");
    }
    let log =
        |filter: AuditFilter| async move { store.audit_log(&filter).await.expect("audit log") };
    assert_eq!(
        log(AuditFilter::default()).await,
        [
            written[3].clone(),
            written[2].clone(),
            written[0].clone(),
            written[1].clone()
        ]
    );
    assert_eq!(
        log(AuditFilter {
            user: Some(name("alice")),
            since_ms: None
        })
        .await,
        [written[2].clone(), written[0].clone()]
    );
    assert_eq!(
        log(AuditFilter {
            user: None,
            since_ms: Some(T0 + 2)
        })
        .await
        .len(),
        3
    );
});

// ---- Directory: opt-outs and addresses that move ----

contract!(
    an_opt_out_is_recorded_once_and_lifted,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1).await;
        let id = people[0].id;
        let optout = |opted_out: bool, at_ms: i64| async move {
            store
                .set_optout(id, Sms, opted_out, Some("STOP"), at_ms)
                .await
                .expect("opt-out")
        };
        assert!(optout(true, T0).await);
        assert!(!optout(true, T0 + 1).await, "once");
        let recipient = store.recipient(id).await.expect("recipient");
        assert_eq!(recipient.contact.opted_out, [Sms]);
        assert!(optout(false, T0 + 2).await);
        assert!(!optout(false, T0 + 3).await);
        assert!(store
            .recipient(id)
            .await
            .expect("recipient")
            .contact
            .opted_out
            .is_empty());
        assert!(matches!(
            store.recipient(9_999).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

contract!(
    an_address_that_moved_for_good_moves_everywhere,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 2).await;
        let update = draft(store).await;
        let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Email)).collect();
        plan(store, &rows, T0).await;
        let first = stored(store, update, people[0].id, Email).await;
        let readdressed = store
            .readdress(first.id, "moved@press.example", "the address moved", T0 + 1)
            .await
            .expect("readdress");
        assert_eq!(readdressed, 1);
        let contact = store
            .find_contact(&format!("id:{}", people[0].id))
            .await
            .expect("find")
            .expect("the contact");
        assert_eq!(contact.email.as_deref(), Some("moved@press.example"));
        let history = events(store, first.id).await;
        assert_eq!(
            history.last(),
            Some(&(
                Some("pending".to_string()),
                "pending".to_string(),
                Some("the address moved".to_string())
            ))
        );
        let claimed = claim(store, update, T0 + 1, 10).await;
        let moved_one = claimed
            .iter()
            .find(|delivery| delivery.id == first.id)
            .expect("claimed");
        assert_eq!(moved_one.address, "moved@press.example");
        assert_eq!(
            stored(store, update, people[1].id, Email).await.address,
            people[1].email,
            "another address is left alone"
        );
        assert_eq!(
            store
                .readdress(first.id, "moved@press.example", "again", T0 + 2)
                .await
                .expect("readdress again"),
            0
        );
        assert!(matches!(
            store.readdress(9_999, "x@y.example", "none", T0).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

// ---- Telegram ----

contract!(
    a_telegram_chat_follows_binds_and_ends,
    |db: Db| async move {
        let store = &*db.store;
        let key = store.telegram_link_key(T0).await.expect("link key");
        assert_eq!(
            db.reopen()
                .await
                .telegram_link_key(T0 + 1)
                .await
                .expect("link key again"),
            key,
            "every process signs with the same key"
        );
        let public = store
            .subscribe_telegram_chat("100", Language::Fr, T0)
            .await
            .expect("subscribe");
        assert!(!public.personal && public.active());
        assert_eq!(public.language, Language::Fr);
        assert_eq!(
            store
                .subscribe_telegram_chat("100", Language::Nl, T0 + 1)
                .await
                .expect("subscribe again"),
            public,
            "a chat subscribed already is left as it is"
        );
        let followers = |selection: Selection| async move {
            store
                .recipients(&selection, 0, 100)
                .await
                .expect("recipients")
                .into_iter()
                .map(|recipient| recipient.contact.id)
                .collect::<Vec<i64>>()
        };
        assert_eq!(followers(Selection::Public).await, [public.contact_id]);

        let people = contacts(store, 1).await;
        let reporter = people[0].id;
        let bound = store
            .bind_telegram_chat("mac-1", reporter, "100", Language::Nl, T0 + 2)
            .await
            .expect("bind");
        let tocsin::store::Binding::Bound(chat) = bound else {
            panic!("not bound: {bound:?}");
        };
        assert!(chat.personal);
        assert_eq!(chat.contact_id, reporter);
        assert_eq!(
            chat.language,
            Language::Fr,
            "the language chosen in the bot"
        );
        assert_eq!(
            chat.subscribed_at_ms, T0,
            "subscribed since its first /start"
        );
        assert!(
            followers(Selection::Public).await.is_empty(),
            "its messages carry the public updates now"
        );
        for (chat_id, same_chat) in [("100", true), ("200", false)] {
            assert_eq!(
                store
                    .bind_telegram_chat("mac-1", reporter, chat_id, Language::Nl, T0 + 3)
                    .await
                    .expect("bind again"),
                tocsin::store::Binding::Used { same_chat }
            );
        }
        assert_eq!(
            store
                .bind_telegram_chat("mac-2", 9_999, "300", Language::Nl, T0 + 3)
                .await
                .expect("bind nobody"),
            tocsin::store::Binding::UnknownContact
        );
        let contact = |id: i64| async move {
            store
                .find_contact(&format!("id:{id}"))
                .await
                .expect("find")
                .expect("the contact")
        };
        let bound_contact = contact(reporter).await;
        assert_eq!(bound_contact.telegram_chat_id.as_deref(), Some("100"));
        assert_eq!(bound_contact.telegram_language, Some(Language::Fr));

        let chosen = store
            .set_telegram_language("100", Language::En, T0 + 4)
            .await
            .expect("language")
            .expect("a chat");
        assert_eq!(chosen.language, Language::En);
        assert_eq!(
            contact(reporter).await.telegram_language,
            Some(Language::En)
        );
        assert!(store
            .set_telegram_language("404", Language::En, T0 + 4)
            .await
            .expect("language")
            .is_none());

        let ended = store
            .end_telegram_chat("100", "/stop", T0 + 5)
            .await
            .expect("end")
            .expect("a chat");
        assert_eq!(
            (ended.ended_at_ms, ended.ended_reason.as_deref()),
            (Some(T0 + 5), Some("/stop"))
        );
        assert_eq!(contact(reporter).await.telegram_chat_id, None);
        assert_eq!(
            store
                .end_telegram_chat("100", "blocked", T0 + 6)
                .await
                .expect("end again")
                .and_then(|chat| chat.ended_reason),
            Some("/stop".to_string())
        );
        assert_eq!(store.telegram_chat("100").await.expect("chat"), Some(ended));
        let back = store
            .subscribe_telegram_chat("100", Language::Nl, T0 + 7)
            .await
            .expect("subscribe after /stop");
        assert!(back.personal && back.active());
        assert_eq!((back.contact_id, back.language), (reporter, Language::En));
        assert_eq!(
            contact(reporter).await.telegram_chat_id.as_deref(),
            Some("100")
        );
    }
);

contract!(
    a_public_channel_post_answers_the_update_before,
    |db: Db| async move {
        let store = &*db.store;
        let channels = [(Language::Nl, "@azt_nl".to_string())];
        assert_eq!(
            store
                .sync_telegram_channels(&channels, T0)
                .await
                .expect("sync"),
            1
        );
        assert_eq!(
            store
                .sync_telegram_channels(&channels, T0 + 1)
                .await
                .expect("sync again"),
            0
        );
        let channel = store
            .recipients(&Selection::Public, 0, 10)
            .await
            .expect("recipients")
            .remove(0)
            .contact;
        assert_eq!(channel.external_id, "telegram-channel:nl");
        assert_eq!(channel.telegram_chat_id.as_deref(), Some("@azt_nl"));

        let alert = draft(store).await;
        let follow_up = store
            .insert_update(
                &NewUpdate {
                    kind: UpdateKind::Update,
                    follows: Some(alert),
                    ..new_update()
                },
                &reference(),
                T0,
            )
            .await
            .expect("follow-up");
        plan(store, &[row(alert, &channel, Telegram)], T0).await;
        let posted = claim(store, alert, T0, 10).await.remove(0);
        assert_eq!(posted.reply_to, None, "an alert starts the thread");
        let sent = Transition {
            gateway_id: Some("telegram:@azt_nl:11".into()),
            ..moved(&posted, Sent, T0 + 1)
        };
        assert_eq!(record(store, &[sent]).await, [true]);
        plan(store, &[row(follow_up, &channel, Telegram)], T0 + 2).await;
        let answer = claim(store, follow_up, T0 + 2, 10).await.remove(0);
        assert_eq!(answer.reply_to.as_deref(), Some("telegram:@azt_nl:11"));

        assert_eq!(
            store
                .sync_telegram_channels(&[], T0 + 3)
                .await
                .expect("sync none"),
            1
        );
        assert!(store
            .recipients(&Selection::Public, 0, 10)
            .await
            .expect("recipients")
            .is_empty());
    }
);

// ---- What the dashboards read ----

contract!(a_breaker_keeps_its_latest_state, |db: Db| async move {
    let store = &*db.store;
    let breaker = |gateway: &str, state: &str, since_ms: i64, error: Option<&str>| {
        tocsin::store::BreakerRecord {
            gateway: gateway.into(),
            state: state.into(),
            since_ms,
            last_error: error.map(str::to_string),
        }
    };
    for record in [
        breaker("kannel", "open", T0 + 10, Some("503 Service Unavailable")),
        breaker("kannel", "closed", T0 + 5, None),
        breaker("twilio", "closed", T0, None),
        breaker("kannel", "half-open", T0 + 20, None),
    ] {
        store.record_breaker(&record).await.expect("record breaker");
    }
    assert_eq!(
        store.breakers().await.expect("breakers"),
        [
            breaker(
                "kannel",
                "half-open",
                T0 + 20,
                Some("503 Service Unavailable")
            ),
            breaker("twilio", "closed", T0, None),
        ]
    );
});

contract!(
    the_progress_mark_moves_with_what_the_counts_show,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 2).await;
        let update = sending(store).await;
        let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Email)).collect();
        plan(store, &rows, T0).await;
        let mark = || async move { store.progress_mark(update).await.expect("progress mark") };
        let planned = mark().await;
        assert_eq!(planned, mark().await, "nothing moved");
        assert_eq!(planned.state, UpdateState::Sending);
        let claimed = claim(store, update, T0, 1).await;
        let after_claim = mark().await;
        assert_ne!(after_claim.last_delivery_event, planned.last_delivery_event);
        assert_eq!(
            record(store, &[moved(&claimed[0], Sent, T0 + 1)]).await,
            [true]
        );
        let after_send = mark().await;
        assert_ne!(
            after_send.last_delivery_event,
            after_claim.last_delivery_event
        );
        store
            .hold_update(update, "Chief", T0 + 2)
            .await
            .expect("hold");
        let held = mark().await;
        assert_eq!(held.paused.as_deref(), Some("paused by Chief"));
        assert_ne!(held.last_update_event, after_send.last_update_event);
        store
            .record_breaker(&tocsin::store::BreakerRecord {
                gateway: "kannel".into(),
                state: "open".into(),
                since_ms: T0 + 3,
                last_error: None,
            })
            .await
            .expect("record breaker");
        assert_ne!(mark().await.breakers, held.breakers);
        assert!(matches!(
            store.progress_mark(9_999).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

// ---- Several processes at once ----

contract!(
    planners_running_at_once_write_each_delivery_once,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 200).await;
        let update = draft(store).await;
        let rows: Arc<Vec<NewDelivery>> = Arc::new(
            people
                .iter()
                .flat_map(|contact| [row(update, contact, Email), row(update, contact, Sms)])
                .collect(),
        );
        let mut planners = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let planner = db.reopen().await;
            let rows = Arc::clone(&rows);
            planners.spawn(async move { plan(&*planner, &rows, T0).await });
        }
        let mut new = 0;
        while let Some(written) = planners.join_next().await {
            new += written.expect("planner");
        }
        assert_eq!(new, 400, "each row written by one planner");
        assert_eq!(store.planned_at(update).await.expect("planned"), Some(T0));
        let claimed = claim(store, update, T0, 1_000).await;
        assert_eq!(claimed.len(), 400);
        for delivery in claimed.iter().step_by(37) {
            assert_eq!(
                events(store, delivery.id).await.len(),
                2,
                "planned once, claimed once"
            );
        }
    }
);

contract!(
    a_receipt_taken_by_several_instances_at_once_applies_once,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 1).await;
        let update = draft(store).await;
        plan(store, &[row(update, &people[0], Sms)], T0).await;
        let delivery = claim(store, update, T0, 10).await.remove(0);
        let sent = Transition {
            gateway_id: Some("kannel:m-1".into()),
            ..moved(&delivery, Sent, T0 + 1)
        };
        assert_eq!(record(store, &[sent]).await, [true]);
        let mut instances = tokio::task::JoinSet::new();
        for _ in 0..8 {
            // A gateway that sends its report again to every instance behind the balancer.
            let instance = db.reopen().await;
            instances.spawn(async move {
                instance
                    .record_receipts(&[kannel("m-1", "1", Delivered, T0 + 10)])
                    .await
                    .expect("receipts")
            });
        }
        let mut effects = Vec::new();
        while let Some(effect) = instances.join_next().await {
            effects.extend(effect.expect("instance"));
        }
        let applied = effects
            .iter()
            .filter(|effect| **effect == ReceiptEffect::Applied)
            .count();
        let duplicates = effects
            .iter()
            .filter(|effect| **effect == ReceiptEffect::Duplicate)
            .count();
        assert_eq!((applied, duplicates), (1, 7), "{effects:?}");
        assert_eq!(now(store, &delivery).await.state, Delivered);
        let delivered = events(store, delivery.id)
            .await
            .into_iter()
            .filter(|(_, to, _)| to == "delivered")
            .count();
        assert_eq!(delivered, 1);
    }
);

contract!(
    fallback_sweeps_running_at_once_plan_each_fallback_once,
    |db: Db| async move {
        let store = &*db.store;
        let people = contacts(store, 50).await;
        let update = draft(store).await;
        let rows: Vec<NewDelivery> = people.iter().map(|c| row(update, c, Sms)).collect();
        plan(store, &rows, T0).await;
        let claimed = claim(store, update, T0, 100).await;
        let refused: Vec<Transition> = claimed
            .iter()
            .map(|delivery| moved(delivery, Undeliverable, T0 + 1))
            .collect();
        assert!(record(store, &refused).await.iter().all(|applied| *applied));
        let plans: Arc<Vec<FallbackPlan>> = Arc::new(
            claimed
                .iter()
                .map(|delivery| {
                    let contact = people
                        .iter()
                        .find(|contact| contact.id == delivery.contact_id)
                        .expect("a contact of ours");
                    FallbackPlan {
                        sms_delivery_id: delivery.id,
                        rows: vec![row(update, contact, Email)],
                        note: "fallback to e-mail".into(),
                    }
                })
                .collect(),
        );
        let finals = FallbackRule {
            silent_since_ms: None,
            receipt_gateways: Vec::new(),
        };
        let mut sweeps = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let sweep = db.reopen().await;
            let (plans, rule) = (Arc::clone(&plans), finals.clone());
            sweeps.spawn(async move {
                sweep
                    .plan_fallback(&rule, &plans, T0 + 1_000)
                    .await
                    .expect("plan fallback")
            });
        }
        let mut created = 0;
        while let Some(rows) = sweeps.join_next().await {
            created += rows.expect("sweep");
        }
        assert_eq!(created, 50, "each fallback planned by one sweep");
        assert!(store
            .fallback_due(update, &finals, 0, 100)
            .await
            .expect("fallback due")
            .is_empty());
        let notes = events(store, claimed[0].id)
            .await
            .into_iter()
            .filter(|(_, _, detail)| detail.as_deref() == Some("fallback to e-mail"))
            .count();
        assert_eq!(notes, 1, "one note on the SMS");
        assert_eq!(claim(store, update, T0 + 1_000, 100).await.len(), 50);
    }
);

contract!(
    rate_slots_are_shared_and_never_overlap,
    |db: Db| async move {
        let store = &db.store;
        // A gateway's time, in microseconds: each reservation starts where the one before
        // ended, or at `from` when the gateway was idle; gateways are apart.
        assert_eq!(
            store
                .reserve_rate_slots("kannel", 1_000, 50)
                .await
                .expect("first"),
            1_000
        );
        assert_eq!(
            store
                .reserve_rate_slots("kannel", 1_000, 50)
                .await
                .expect("next"),
            1_050
        );
        assert_eq!(
            store
                .reserve_rate_slots("twilio", 1_010, 5)
                .await
                .expect("other"),
            1_010
        );
        assert_eq!(
            store
                .reserve_rate_slots("kannel", 5_000, 50)
                .await
                .expect("idle"),
            5_000
        );
        // Another process, reserving at once with this one: no two reservations overlap.
        let other = db.reopen().await;
        let mut reserving = tokio::task::JoinSet::new();
        for n in 0..40 {
            let store = if n % 2 == 0 {
                Arc::clone(store)
            } else {
                Arc::clone(&other)
            };
            reserving.spawn(async move { store.reserve_rate_slots("vonage", 0, 10).await });
        }
        let mut starts: Vec<i64> = reserving
            .join_all()
            .await
            .into_iter()
            .map(|start| start.expect("reserved"))
            .collect();
        starts.sort_unstable();
        assert_eq!(starts, (0..40).map(|n| n * 10).collect::<Vec<_>>());
    }
);
