//! One guard per channel and run: what the channel's answers say about the channel itself,
//! as opposed to the recipients. A channel that is unavailable pauses (its messages wait, and
//! no attempt is counted against anyone), then lets one message probe it; one whose
//! configuration is refused, or that stays unavailable longer than the patience, or whose
//! first messages are all refused the same way, stops for this run: its messages are held
//! until a person fixes the cause and resumes the update.

use crate::domain::ChannelKind;
use std::sync::Mutex;
use std::time::Duration;

/// The first pause after an unavailable answer; each failed probe doubles it.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two probes.
const LONGEST_PAUSE: Duration = Duration::from_secs(60);

/// What a worker does with the message it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Send,
    /// The channel is paused: the message waits until then, uncounted.
    Wait {
        until_ms: i64,
    },
    /// The channel is stopped for this run: the message is held.
    Held,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Open,
    Paused {
        /// When the first unavailable answer of this outage came.
        since_ms: i64,
        until_ms: i64,
        pause: Duration,
        reason: String,
        /// One message is testing the channel now.
        probing: bool,
    },
    Stopped {
        reason: String,
    },
}

/// The mass-rejection guard's watch over the first answers of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Watch {
    /// `count` rejections in a row so far, all of this kind, with this last reason.
    Counting {
        kind: String,
        reason: String,
        count: u32,
    },
    /// Something else came first: the guard has nothing more to say in this run.
    Done,
}

pub struct ChannelGuard {
    channel: ChannelKind,
    patience: Duration,
    /// 0: no mass-rejection guard.
    threshold: u32,
    state: Mutex<(Status, Watch)>,
}

impl ChannelGuard {
    pub fn new(channel: ChannelKind, patience: Duration, threshold: u32) -> ChannelGuard {
        let watch = if threshold == 0 {
            Watch::Done
        } else {
            Watch::Counting {
                kind: String::new(),
                reason: String::new(),
                count: 0,
            }
        };
        ChannelGuard {
            channel,
            patience,
            threshold,
            state: Mutex::new((Status::Open, watch)),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (Status, Watch)> {
        // Every change below leaves the state whole: a panic elsewhere cannot tear it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn admit(&self, now_ms: i64) -> Admission {
        let mut state = self.state();
        match &mut state.0 {
            Status::Open => Admission::Send,
            Status::Stopped { .. } => Admission::Held,
            Status::Paused {
                until_ms, probing, ..
            } => {
                if *probing || now_ms < *until_ms {
                    // Behind a probe, wait a little past it rather than all at once.
                    Admission::Wait {
                        until_ms: (*until_ms).max(now_ms + FIRST_PAUSE.as_millis() as i64),
                    }
                } else {
                    *probing = true;
                    Admission::Send
                }
            }
        }
    }

    /// The channel took a message or answered about this recipient: it is up.
    pub fn up(&self) {
        let mut state = self.state();
        if matches!(state.0, Status::Paused { .. }) {
            tracing::info!(message = "channel available again", channel = %self.channel);
            state.0 = Status::Open;
        }
    }

    /// An answer that says the channel cannot take anything now. Returns when the message
    /// is due again, or None when the channel is stopped (the outage outlasted the patience).
    pub fn unavailable(&self, now_ms: i64, after: Option<Duration>, reason: &str) -> Option<i64> {
        let mut state = self.state();
        let (since_ms, pause) = match &state.0 {
            Status::Stopped { .. } => return None,
            Status::Open => (now_ms, FIRST_PAUSE),
            Status::Paused {
                since_ms,
                pause,
                probing: true,
                ..
            } => (*since_ms, (*pause * 2).min(LONGEST_PAUSE)),
            // Another message of the same outage, sent before the pause began.
            Status::Paused { until_ms, .. } => return Some(*until_ms),
        };
        if Duration::from_millis((now_ms - since_ms).max(0) as u64) >= self.patience {
            let minutes = self.patience.as_secs().div_ceil(60);
            state.0 = Status::Stopped {
                reason: format!("unavailable for {minutes} min: {reason}"),
            };
            tracing::error!(message = "channel stopped: unavailable too long", channel = %self.channel, %reason);
            return None;
        }
        let pause = after.map_or(pause, |after| after.max(FIRST_PAUSE));
        let until_ms = now_ms + pause.as_millis() as i64;
        tracing::warn!(message = "channel unavailable, pausing", channel = %self.channel, pause_ms = pause.as_millis() as u64, %reason);
        state.0 = Status::Paused {
            since_ms,
            until_ms,
            pause,
            reason: reason.to_string(),
            probing: false,
        };
        Some(until_ms)
    }

    /// The configuration is refused: nothing on this channel can succeed in this run.
    pub fn misconfigured(&self, reason: &str) {
        let mut state = self.state();
        if !matches!(state.0, Status::Stopped { .. }) {
            tracing::error!(message = "channel stopped: its configuration is refused", channel = %self.channel, %reason);
            state.0 = Status::Stopped {
                reason: reason.to_string(),
            };
        }
    }

    /// A rejection of a recipient. While the run's first answers are all rejections of one
    /// kind, counts them; at the threshold the channel stops, since a whole audience of
    /// bad addresses is far less likely than a gateway refusing us in a way it words as a
    /// recipient's fault.
    pub fn rejected(&self, reason: &str) {
        let mut state = self.state();
        let kind = rejection_kind(reason);
        let tripped = match &mut state.1 {
            Watch::Done => false,
            Watch::Counting {
                kind: seen,
                reason: last,
                count,
            } => {
                if *count == 0 || *seen == kind {
                    *seen = kind;
                    *last = reason.to_string();
                    *count += 1;
                    *count >= self.threshold
                } else {
                    state.1 = Watch::Done;
                    false
                }
            }
        };
        if tripped {
            let reason = format!(
                "the first {} {} messages were all refused the same way ({reason}): that is \
                 more likely the gateway or our configuration than {} bad addresses",
                self.threshold, self.channel, self.threshold
            );
            tracing::error!(message = "channel stopped by the mass-rejection guard", channel = %self.channel, %reason);
            state.1 = Watch::Done;
            if !matches!(state.0, Status::Stopped { .. }) {
                state.0 = Status::Stopped { reason };
            }
        }
    }

    /// Any answer that is not a rejection ends the mass-rejection watch.
    pub fn answered(&self) {
        self.state().1 = Watch::Done;
    }

    /// Why the channel is stopped, if it is.
    pub fn stopped(&self) -> Option<String> {
        match &self.state().0 {
            Status::Stopped { reason } => Some(reason.clone()),
            _ => None,
        }
    }

    /// What a progress display says of the channel, when it is not simply open.
    pub fn note(&self, now_ms: i64) -> Option<String> {
        match &self.state().0 {
            Status::Open => None,
            Status::Paused {
                until_ms, reason, ..
            } => Some(format!(
                "paused, next try in {} s: {reason}",
                ((until_ms - now_ms).max(0) + 999) / 1000
            )),
            Status::Stopped { reason } => Some(format!("stopped: {reason}")),
        }
    }
}

/// A rejection's reason without what names the recipient (an address, a masked number, a
/// bare number), so that two recipients refused for the same cause compare equal.
fn rejection_kind(reason: &str) -> String {
    reason
        .split_whitespace()
        .filter(|word| {
            !(word.contains('@')
                || word.contains("***")
                || word.chars().filter(char::is_ascii_digit).count() >= 6)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(threshold: u32) -> ChannelGuard {
        ChannelGuard::new(ChannelKind::Sms, Duration::from_secs(600), threshold)
    }

    #[test]
    fn an_outage_pauses_then_one_message_probes_and_the_rest_wait() {
        let guard = guard(20);
        assert_eq!(guard.admit(0), Admission::Send);
        assert_eq!(
            guard.unavailable(0, None, "connection refused"),
            Some(1_000)
        );
        assert_eq!(guard.admit(500), Admission::Wait { until_ms: 1_500 });
        assert_eq!(guard.admit(1_000), Admission::Send, "the probe");
        assert!(matches!(guard.admit(1_001), Admission::Wait { .. }));
        assert_eq!(
            guard.unavailable(1_100, None, "connection refused"),
            Some(3_100),
            "a failed probe doubles the pause"
        );
        assert_eq!(guard.admit(3_100), Admission::Send);
        guard.up();
        assert_eq!(guard.admit(3_101), Admission::Send);
        assert_eq!(guard.stopped(), None);
    }

    #[test]
    fn an_outage_longer_than_the_patience_stops_the_channel_with_its_reason() {
        let guard = ChannelGuard::new(ChannelKind::Email, Duration::from_secs(60), 20);
        let mut now = 0;
        let mut until = guard.unavailable(now, None, "421 busy");
        while let Some(due) = until {
            now = due;
            assert_eq!(guard.admit(now), Admission::Send);
            until = guard.unavailable(now, None, "421 busy");
        }
        assert!(
            now >= 60_000 - 60_000 / 2,
            "it waited about the patience: {now}"
        );
        assert_eq!(guard.admit(now), Admission::Held);
        let reason = guard.stopped().expect("stopped");
        assert!(
            reason.contains("unavailable for 1 min: 421 busy"),
            "{reason}"
        );
    }

    #[test]
    fn a_refused_configuration_stops_the_channel_at_once() {
        let guard = guard(20);
        guard.misconfigured("554 5.7.1 not authorised");
        assert_eq!(guard.admit(0), Admission::Held);
        assert_eq!(guard.unavailable(0, None, "later"), None);
        assert_eq!(guard.stopped().as_deref(), Some("554 5.7.1 not authorised"));
    }

    #[test]
    fn the_first_answers_all_refused_alike_stop_the_channel() {
        let guard = guard(3);
        for number in ["+324***53", "+324***19", "+324***07"] {
            assert_eq!(guard.admit(0), Admission::Send);
            guard.rejected(&format!(
                "kannel: receiver {number} refused: Sender missing (code 400)"
            ));
        }
        let reason = guard.stopped().expect("stopped");
        assert!(
            reason.starts_with("the first 3 sms messages were all refused"),
            "{reason}"
        );
        assert_eq!(guard.admit(0), Admission::Held);
    }

    #[test]
    fn rejections_after_a_success_or_of_different_kinds_are_facts_about_recipients() {
        let guard = guard(2);
        guard.answered();
        guard.rejected("550 5.1.1 <a***@example.be>: unknown user");
        guard.rejected("550 5.1.1 <b***@example.be>: unknown user");
        assert_eq!(guard.stopped(), None);

        let guard = super::tests::guard(2);
        guard.rejected("twilio: invalid number (code 21211)");
        guard.rejected("twilio: unsubscribed recipient (code 21610)");
        guard.rejected("twilio: unsubscribed recipient (code 21610)");
        assert_eq!(
            guard.stopped(),
            None,
            "the watch ended at the first difference"
        );
    }

    #[test]
    fn a_threshold_of_zero_turns_the_guard_off() {
        let guard = guard(0);
        for _ in 0..100 {
            guard.rejected("same");
        }
        assert_eq!(guard.stopped(), None);
    }
}
