//! What the console's sign-in stands on: passwords hashed with Argon2id, tokens compared in
//! constant time, and a throttle that slows down guessing.
//!
//! Neither a password nor a token is ever stored, logged or put in an error: the store
//! keeps a password's PHC string and a token's SHA-256 (`SecretToken::id`).

use crate::clock::Clock;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("cannot hash the password: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("a stored password hash cannot be read: {0}")]
    Stored(argon2::password_hash::Error),
    #[error("the password check was interrupted: {0}")]
    Interrupted(String),
}

/// Argon2id with OWASP's recommended minimum (Password Storage Cheat Sheet): 19 MiB of
/// memory, 2 passes, 1 lane — the argon2 crate's defaults, written out so that a change of
/// the crate's defaults does not change ours unnoticed.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant, valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of a password, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(HashError::Hash)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(HashError::Hash)
}

/// Whether a password matches a stored PHC string (whose own parameters are used, so older
/// hashes keep verifying if ours change).
pub fn verify_password(password: &str, stored: &str) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(stored).map_err(HashError::Stored)?;
    match argon2().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(error) => Err(HashError::Stored(error)),
    }
}

/// [`hash_password`] on a blocking thread: Argon2 spends tens of milliseconds of CPU by
/// design, which on an async worker would hold up the receipts and the dispatcher beside it.
pub async fn hash_password_apart(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| HashError::Interrupted(error.to_string()))?
}

/// [`verify_password`] on a blocking thread; with no stored hash (no such user, no password
/// yet), [`verify_nothing`] and false, in about the same time.
pub async fn verify_password_apart(
    password: String,
    stored: Option<String>,
) -> Result<bool, HashError> {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_password(&password, &stored),
        None => {
            verify_nothing(&password);
            Ok(false)
        }
    })
    .await
    .map_err(|error| HashError::Interrupted(error.to_string()))?
}

/// Takes about as long as checking a real password, for a user who does not exist or has no
/// password yet: a sign-in's answer time does not tell which names exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(stored) = DUMMY.get_or_init(|| hash_password("not a password").ok()) {
        let _ = verify_password(password, stored);
    }
}

/// Whether two secrets are equal, in a time that depends on their lengths only (a CSRF
/// token against the session's, say): no early exit tells how many bytes matched.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |differ, (x, y)| differ | (x ^ y)) == 0
}

/// Bounds the Argon2 work the console's doors start: each hash takes 19 MiB and tens of
/// milliseconds of a core, so a flood of sign-ins could otherwise exhaust the memory and
/// the blocking threads beside the dispatcher. `at_once` hash together; up to `waiting`
/// more wait their turn; beyond that a request is refused at once (the console answers
/// 429) and costs nothing.
pub struct HashingGate {
    admitted: tokio::sync::Semaphore,
    hashing: tokio::sync::Semaphore,
}

/// A request let through the gate: [`Admitted::turn`] waits for its turn to hash.
pub struct Admitted<'a> {
    gate: &'a HashingGate,
    _place: tokio::sync::SemaphorePermit<'a>,
}

impl HashingGate {
    pub fn new(at_once: usize, waiting: usize) -> HashingGate {
        HashingGate {
            admitted: tokio::sync::Semaphore::new(at_once + waiting),
            hashing: tokio::sync::Semaphore::new(at_once),
        }
    }

    /// A place, or None when every place is taken.
    pub fn try_admit(&self) -> Option<Admitted<'_>> {
        let place = self.admitted.try_acquire().ok()?;
        Some(Admitted {
            gate: self,
            _place: place,
        })
    }
}

impl Admitted<'_> {
    /// Waits until fewer than `at_once` hashes run; held while this one does.
    pub async fn turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.gate.hashing.acquire().await.ok()
    }
}

/// How sign-in attempts are slowed after failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures for one name from one address allowed before any delay.
    pub free_attempts: u32,
    /// Failures from one address, whatever the names, allowed before any delay: more, since
    /// a hospital's staff may all reach the console through one address (a NAT, a proxy
    /// that is not trusted), and one person's typing errors should not slow the others.
    pub free_attempts_per_address: u32,
    /// The delay after the first failure past the free ones; it doubles with each further
    /// failure …
    pub first_delay: Duration,
    /// … up to this.
    pub max_delay: Duration,
    /// A key with no failure for this long is forgotten.
    pub forget_after: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> ThrottleSettings {
        ThrottleSettings {
            free_attempts: 5,
            free_attempts_per_address: 20,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failed sign-ins counted per user name *from one address*, and per address: guessing one
/// account's password from an address is slowed by the pair, guessing many accounts from
/// one address by the address. A name is never slowed by itself: failures typed from one
/// address (anyone's, with one wrong password a minute) would otherwise keep its owner
/// waiting up to a minute at every address. Pure bookkeeping on an injected [`Clock`]: the
/// caller waits (or answers "try again in …"); tests move the clock.
pub struct LoginThrottle {
    settings: ThrottleSettings,
    clock: Arc<dyn Clock>,
    failures: Mutex<HashMap<String, Failures>>,
}

/// Beyond this many keys, those forgotten are dropped on the next failure, so that a flood
/// of addresses cannot grow the map without bound.
const PRUNE_ABOVE: usize = 10_000;

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings, clock: Arc<dyn Clock>) -> LoginThrottle {
        LoginThrottle {
            settings,
            clock,
            failures: Mutex::default(),
        }
    }

    fn user_key(user: &str, remote: &str) -> String {
        format!("user:{}@{remote}", user.trim().to_lowercase())
    }

    /// Each key with the failures it allows free.
    fn keys(&self, user: &str, remote: &str) -> [(String, u32); 2] {
        [
            (Self::user_key(user, remote), self.settings.free_attempts),
            (
                format!("addr:{remote}"),
                self.settings.free_attempts_per_address,
            ),
        ]
    }

    /// The delay that `count` failures impose after the last of them, `free` of them
    /// allowed without one.
    fn delay_after(&self, count: u32, free: u32) -> Duration {
        let Some(past) = count.checked_sub(free) else {
            return Duration::ZERO;
        };
        if past == 0 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(past - 1);
        self.settings
            .first_delay
            .saturating_mul(factor)
            .min(self.settings.max_delay)
    }

    /// How long an attempt for `user` from `remote` must wait before it is checked: zero,
    /// or what is left of the longer of the two delays.
    pub fn wait(&self, user: &str, remote: &str) -> Duration {
        let now = self.clock.now();
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        self.keys(user, remote)
            .iter()
            .filter_map(|(key, free)| failures.get(key).map(|f| (f, *free)))
            .map(|(f, free)| {
                (f.last + self.delay_after(f.count, free)).saturating_duration_since(now)
            })
            .max()
            .unwrap_or(Duration::ZERO)
    }

    pub fn failed(&self, user: &str, remote: &str) {
        let now = self.clock.now();
        let forget = self.settings.forget_after;
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, f| now.saturating_duration_since(f.last) < forget);
        }
        for (key, _) in self.keys(user, remote) {
            let entry = failures.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.saturating_duration_since(entry.last) >= forget {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
    }

    /// A successful sign-in clears its user's failures from that address; the address's own
    /// stay, or one account of one's own would wipe the record of guessing at the others'.
    pub fn succeeded(&self, user: &str, remote: &str) {
        let key = Self::user_key(user, remote);
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_password_verifies_against_its_hash_and_no_other() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse battery", &hash).expect("verify"));
        assert!(!verify_password("correct horse batterY", &hash).expect("verify"));
        let again = hash_password("correct horse battery").expect("hash");
        assert_ne!(hash, again, "each hash has its own salt");
        assert!(verify_password("x", "not a PHC string").is_err());
    }

    #[tokio::test]
    async fn the_hashing_gate_lets_through_what_it_has_room_for_and_refuses_the_rest() {
        let gate = HashingGate::new(2, 1);
        let first = gate.try_admit().expect("a place");
        let second = gate.try_admit().expect("a place");
        let third = gate.try_admit().expect("a place to wait in");
        assert!(gate.try_admit().is_none(), "no place left: refused at once");
        let _a = first.turn().await.expect("a turn");
        let _b = second.turn().await.expect("a turn");
        let waiting = tokio::time::timeout(Duration::from_millis(50), third.turn()).await;
        assert!(waiting.is_err(), "two hash at once, the third waits");
        drop(_a);
        drop(first);
        assert!(third.turn().await.is_some());
        assert!(gate.try_admit().is_some(), "a freed place is taken again");
    }

    #[test]
    fn secrets_are_equal_only_byte_for_byte() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }

    fn throttle(clock: &Arc<ManualClock>) -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings::default(), clock.clone())
    }

    #[test]
    fn after_five_failures_each_attempt_waits_twice_as_long_up_to_a_minute() {
        let clock = Arc::new(ManualClock::new());
        let throttle = throttle(&clock);
        let mut waits = Vec::new();
        for _ in 0..10 {
            throttle.failed("an", "10.0.0.1");
            waits.push(throttle.wait("an", "10.0.0.1").as_secs());
        }
        assert_eq!(waits, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16]);
        for _ in 0..5 {
            throttle.failed("an", "10.0.0.1");
        }
        assert_eq!(throttle.wait("an", "10.0.0.1"), Duration::from_secs(60));
        clock.advance(Duration::from_secs(45));
        assert_eq!(throttle.wait("an", "10.0.0.1"), Duration::from_secs(15));
        clock.advance(Duration::from_secs(15));
        assert_eq!(throttle.wait("an", "10.0.0.1"), Duration::ZERO);
    }

    #[test]
    fn a_name_is_throttled_from_the_address_that_failed_and_an_address_for_every_name() {
        let clock = Arc::new(ManualClock::new());
        let throttle = throttle(&clock);
        for _ in 0..7 {
            throttle.failed("an", "10.0.0.1");
        }
        assert_eq!(throttle.wait("AN", "10.0.0.1"), Duration::from_secs(2));
        assert_eq!(
            throttle.wait("an", "192.0.2.1"),
            Duration::ZERO,
            "another address is not kept waiting for the failures of the first"
        );
        assert_eq!(
            throttle.wait("bert", "10.0.0.1"),
            Duration::ZERO,
            "a colleague behind the same address is not slowed by seven failures"
        );
        for i in 0..21 {
            throttle.failed(&format!("c{i}"), "192.0.2.9");
        }
        assert_eq!(
            throttle.wait("dirk", "192.0.2.9"),
            Duration::from_secs(1),
            "an address trying many names is slowed whatever the name"
        );
    }

    #[test]
    fn success_clears_the_name_at_its_address_and_quiet_time_forgets_both() {
        let clock = Arc::new(ManualClock::new());
        let throttle = throttle(&clock);
        for _ in 0..7 {
            throttle.failed("an", "10.0.0.1");
            throttle.failed("an", "10.0.0.2");
        }
        throttle.succeeded("an", "10.0.0.1");
        assert_eq!(throttle.wait("an", "10.0.0.1"), Duration::ZERO);
        assert_eq!(
            throttle.wait("an", "10.0.0.2"),
            Duration::from_secs(2),
            "a success elsewhere clears nothing here"
        );
        for i in 0..21 {
            throttle.failed(&format!("c{i}"), "10.0.0.3");
        }
        throttle.succeeded("mine", "10.0.0.3");
        assert_eq!(
            throttle.wait("mine", "10.0.0.3"),
            Duration::from_secs(1),
            "one's own account does not wipe the address's guessing at others"
        );
        clock.advance(Duration::from_secs(16 * 60));
        throttle.failed("an", "10.0.0.2");
        assert_eq!(
            throttle.wait("an", "10.0.0.2"),
            Duration::ZERO,
            "counts restart"
        );
    }
}
