//! The press room as `tocsin serve` holds it: the current edition and its files, ready to
//! answer, swapped whole when the released updates change. When the hospital's website is
//! down everyone refreshes the press page, so a request reads no database and renders
//! nothing (the reference check's answer aside): it takes the current [`Snapshot`] and
//! copies a reference-counted body.
//!
//! A task ([`PressRoom::follow`]) reads `Store::published_updates` every second and builds
//! the press room again only when what it shows changed (an update released, halted or
//! withdrawn).

use crate::app::{App, AppError};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{Language, Update, UpdateState};
use crate::press::{self, pages, Edition, PressError, Site};
use crate::render::Renderer;
use axum::body::Bytes;
use axum::http::HeaderValue;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the task looks for a change in the released updates.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// One file, with its headers made once.
#[derive(Debug, Clone)]
pub struct Served {
    pub body: Bytes,
    pub content_type: HeaderValue,
    pub etag: HeaderValue,
    /// Whole seconds, as HTTP dates have them, so that a date a client sends back compares
    /// equal.
    pub last_modified: DateTime<Utc>,
    pub last_modified_header: HeaderValue,
}

impl Served {
    pub fn new(file: &press::File, last_modified: DateTime<Utc>) -> Served {
        let last_modified = whole_seconds(last_modified);
        Served {
            body: Bytes::copy_from_slice(&file.body),
            content_type: HeaderValue::from_static(file.content_type),
            etag: header_value(&file.etag),
            last_modified,
            last_modified_header: header_value(&http_date(last_modified)),
        }
    }
}

/// What the press room answers at one moment.
pub struct Snapshot {
    pub edition: Edition,
    /// The [`Site`] as built, kept for the validators of the next build.
    site: Site,
    pub files: HashMap<String, Served>,
    /// The page for an unknown address, by language.
    pub not_found: [Bytes; 3],
    pub cache_control: HeaderValue,
}

impl Snapshot {
    pub fn file(&self, path: &str) -> Option<&Served> {
        self.files.get(path)
    }

    pub fn not_found(&self, language: Language) -> Bytes {
        self.not_found[language as usize].clone()
    }
}

/// The current [`Snapshot`], shared by every request and the task that replaces it.
#[derive(Clone)]
pub struct PressRoom {
    current: Arc<RwLock<Arc<Snapshot>>>,
    renderer: Arc<Renderer>,
    pace: Arc<Pacer>,
}

/// `[press] max_requests_per_second`: each request takes the next free slot, one
/// `1/rate` after the one before, and sleeps until it once (a slot up to a tenth of a second
/// in the past is taken at once, so a burst passes). A limiter that wakes every waiter to
/// try again when a slot frees cost a crowd of waiting readers more CPU than their pages.
struct Pacer {
    start: Instant,
    interval_ns: u64,
    burst_ns: u64,
    /// Nanoseconds after `start` of the next free slot.
    next_ns: AtomicU64,
}

impl Pacer {
    fn new(rate: NonZeroU32) -> Pacer {
        Pacer {
            start: Instant::now(),
            interval_ns: 1_000_000_000 / u64::from(rate.get()),
            burst_ns: 100_000_000,
            next_ns: AtomicU64::new(0),
        }
    }

    /// How long the request waited for its slot.
    async fn wait_turn(&self) -> Duration {
        // Counted from a burst before `start`, so that the first burst passes at once too.
        let now = u64::try_from(self.start.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(self.burst_ns);
        let mut next = self.next_ns.load(Ordering::Relaxed);
        loop {
            let slot = next.max(now.saturating_sub(self.burst_ns));
            match self.next_ns.compare_exchange_weak(
                next,
                slot + self.interval_ns,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let wait = Duration::from_nanos(slot.saturating_sub(now));
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    return wait;
                }
                Err(actual) => next = actual,
            }
        }
    }
}

impl PressRoom {
    /// The press room as the store has it now.
    pub async fn open(app: &App) -> Result<PressRoom, AppError> {
        let (edition, site) = app.press().await?;
        let snapshot = snapshot(edition, site, None, &app.renderer, Utc::now())?;
        let rate = NonZeroU32::new(app.config.press.max_requests_per_second).ok_or_else(|| {
            AppError::Config("[press] max_requests_per_second must be at least 1".into())
        })?;
        Ok(PressRoom {
            current: Arc::new(RwLock::new(Arc::new(snapshot))),
            renderer: Arc::clone(&app.renderer),
            pace: Arc::new(Pacer::new(rate)),
        })
    }

    /// Waits for the request's turn under `[press] max_requests_per_second`.
    pub async fn pace(&self) {
        self.pace.wait_turn().await;
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        // A panic while the lock was held left a whole snapshot behind: the swap is one
        // assignment.
        match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Builds the press room of `updates` and puts it in place; a file whose bytes changed
    /// gets a `Last-Modified` no older than `now`, since a halt changes a page without
    /// changing any release time.
    fn replace(
        &self,
        config: &Config,
        updates: Vec<Update>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let edition = Edition::new(config, updates)?;
        let site = press::build(&edition, self.renderer.locales())?;
        let previous = self.snapshot();
        let next = snapshot(edition, site, Some(&previous), &self.renderer, now)?;
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(next),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
        }
        Ok(())
    }

    /// Until `stop` turns true: every [`FOLLOW_EVERY`], the released updates, and a new
    /// press room when what it shows changed. A failure is logged and the press room kept
    /// as it was; the next second tries again.
    pub async fn follow(
        self,
        store: Arc<dyn crate::store::Store>,
        config: Config,
        clock: Arc<dyn Clock>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut shown = shown(&self.snapshot().edition);
        let mut ticks = tokio::time::interval(FOLLOW_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            if *stop.borrow() {
                return;
            }
            let updates = match store.published_updates().await {
                Ok(updates) => updates,
                Err(error) => {
                    tracing::warn!(message = "press room: cannot read the released updates", %error);
                    continue;
                }
            };
            let now_shown: Vec<Update> = updates.iter().map(as_shown).collect();
            if now_shown == shown {
                continue;
            }
            let room = self.clone();
            let config = config.clone();
            let now = DateTime::from_timestamp_millis(clock.now_ms()).unwrap_or_else(Utc::now);
            let built =
                tokio::task::spawn_blocking(move || room.replace(&config, updates, now)).await;
            match built {
                Ok(Ok(())) => {
                    tracing::info!(message = "press room rebuilt", updates = now_shown.len());
                    shown = now_shown;
                }
                Ok(Err(error)) => {
                    tracing::warn!(message = "press room: cannot build the pages", %error)
                }
                Err(error) => {
                    tracing::warn!(message = "press room: the build failed", %error)
                }
            }
        }
    }
}

/// An update as far as the press room shows it: its sending's progress (approved, sending,
/// sent, paused) shows nowhere; a halt does.
fn as_shown(update: &Update) -> Update {
    let mut shown = update.clone();
    if shown.state != UpdateState::Halted {
        shown.state = UpdateState::Approved;
    }
    shown.paused = None;
    shown
}

fn shown(edition: &Edition) -> Vec<Update> {
    edition
        .items
        .iter()
        .map(|item| as_shown(&item.update))
        .collect()
}

fn snapshot(
    edition: Edition,
    site: Site,
    previous: Option<&Snapshot>,
    renderer: &Renderer,
    now: DateTime<Utc>,
) -> Result<Snapshot, PressError> {
    let files = site
        .files()
        .map(|(path, file)| {
            let before = previous
                .and_then(|previous| Some((previous.site.get(path)?, previous.files.get(path)?)));
            let last_modified = match before {
                Some((old, served)) if old.etag == file.etag => served.last_modified,
                Some((_, served)) => file
                    .last_modified
                    .max(now)
                    .max(served.last_modified + chrono::Duration::seconds(1)),
                None if previous.is_some() => file.last_modified.max(now),
                None => file.last_modified,
            };
            (path.to_string(), Served::new(file, last_modified))
        })
        .collect();
    let not_found = |language| -> Result<Bytes, PressError> {
        Ok(Bytes::from(pages::not_found(
            &edition,
            renderer.locales(),
            language,
        )?))
    };
    Ok(Snapshot {
        not_found: [
            not_found(Language::Nl)?,
            not_found(Language::Fr)?,
            not_found(Language::En)?,
        ],
        cache_control: header_value(&format!("public, max-age={}", edition.cache_seconds)),
        edition,
        site,
        files,
    })
}

fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// IMF-fixdate, as HTTP writes dates: `Tue, 13 Jan 2026 06:30:00 GMT`.
pub fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Our own text (tags, dates, numbers): always a valid header value.
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Hospital;
    use crate::press::pages::tests::{edition, update};

    /// 1,000 a second with a tenth of a second's burst: 100 pass at once, the next 200 take
    /// their slots a millisecond apart, so 300 cannot all pass in under 0.2 s.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pacer_lets_a_burst_through_then_holds_the_rate() {
        let pacer = Arc::new(Pacer::new(NonZeroU32::new(1_000).expect("non-zero")));
        let started = Instant::now();
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let pacer = Arc::clone(&pacer);
            burst.spawn(async move { pacer.wait_turn().await });
        }
        let waits = burst.join_all().await;
        assert!(waits.iter().all(Duration::is_zero), "{waits:?}");
        let mut crowd = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let pacer = Arc::clone(&pacer);
            crowd.spawn(async move { pacer.wait_turn().await });
        }
        crowd.join_all().await;
        assert!(
            started.elapsed() >= Duration::from_millis(199),
            "300 requests at 1,000/s after a burst of 100 passed in {:?}",
            started.elapsed()
        );
    }

    fn renderer() -> Renderer {
        let public_url = url::Url::parse("https://status.example.be/").expect("url");
        Renderer::new(Hospital::default(), public_url, Vec::new(), None, None).expect("renderer")
    }

    #[test]
    fn only_what_the_pages_show_counts_as_a_change() {
        let sent = update(1, "ZNA-20260113-7JQ4", 1_768_285_800_000, "Cyberaanval");
        let mut sending = sent.clone();
        sending.state = UpdateState::Sending;
        sending.paused = Some("sms stopped".into());
        assert_eq!(as_shown(&sent), as_shown(&sending));
        let mut halted = sent.clone();
        halted.state = UpdateState::Halted;
        assert_ne!(as_shown(&sent), as_shown(&halted));
        let mut corrected = sent.clone();
        corrected.fr.body.push('!');
        assert_ne!(as_shown(&sent), as_shown(&corrected));
    }

    #[test]
    fn a_halt_makes_the_changed_files_newer_and_leaves_the_others_as_they_were() {
        let renderer = renderer();
        let released = update(1, "ZNA-20260113-7JQ4", 1_768_285_800_000, "Cyberaanval");
        let before = edition(vec![released.clone()]);
        let site = press::build(&before, renderer.locales()).expect("site");
        let start = DateTime::from_timestamp(1_768_300_000, 0).expect("valid");
        let first = snapshot(before, site, None, &renderer, start).expect("snapshot");
        let timeline = first.file("nl/index.html").expect("timeline").clone();
        assert_eq!(
            timeline.last_modified,
            DateTime::from_timestamp(1_768_285_800, 0).expect("valid"),
            "a first build dates each file by its newest release"
        );
        assert_eq!(
            timeline.last_modified_header,
            "Tue, 13 Jan 2026 06:30:00 GMT"
        );

        let mut halted = released;
        halted.state = UpdateState::Halted;
        let after = edition(vec![halted]);
        let site = press::build(&after, renderer.locales()).expect("site");
        let later = start + chrono::Duration::milliseconds(1_500);
        let second = snapshot(after, site, Some(&first), &renderer, later).expect("snapshot");
        let changed = second.file("nl/index.html").expect("timeline");
        assert_ne!(changed.etag, timeline.etag);
        assert_eq!(changed.last_modified, whole_seconds(later));
        let style = |snapshot: &Snapshot| snapshot.file("style.css").expect("css").clone();
        assert_eq!(style(&second).etag, style(&first).etag);
        assert_eq!(style(&second).last_modified, style(&first).last_modified);
    }
}
