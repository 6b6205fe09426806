//! When to try again: exponential backoff with full jitter, capped, and a limit on attempts.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`, or None when the attempts are used up.
    /// Full jitter spreads the retries of a whole broadcast that failed at once, so they do
    /// not hit a recovering gateway together; `floor` is the gateway's own `Retry-After`.
    pub fn next_delay(
        &self,
        attempts: u32,
        floor: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let exponent = attempts.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.max);
        let jittered = Duration::from_millis(rng.random_range(0..=ceiling.as_millis() as u64));
        Some(jittered.max(floor.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
        }
    }

    #[test]
    fn delays_grow_within_their_ceiling_and_stop_at_the_limit() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempts in 1..5 {
            let ceiling = Duration::from_secs(1 << (attempts - 1)).min(Duration::from_secs(10));
            for _ in 0..100 {
                let delay = policy()
                    .next_delay(attempts, None, &mut rng)
                    .expect("retry");
                assert!(
                    delay <= ceiling,
                    "attempt {attempts}: {delay:?} > {ceiling:?}"
                );
            }
        }
        assert_eq!(policy().next_delay(5, None, &mut rng), None);
    }

    #[test]
    fn a_gateways_retry_after_is_a_floor() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let delay = policy()
            .next_delay(1, Some(Duration::from_secs(30)), &mut rng)
            .expect("retry");
        assert_eq!(delay, Duration::from_secs(30));
    }
}
