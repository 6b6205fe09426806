//! What a person's action on an update writes, the same words on every backend.

use super::RetryFilter;

impl RetryFilter {
    /// Each delivery sent again says this in its event: who asked, for which failure.
    pub(super) fn event_detail(&self, by: &str) -> String {
        let mut detail = format!("sent again at the request of {by}");
        if let Some(reason) = &self.reason {
            detail.push_str(&format!(" (those that failed with {reason:?})"));
        }
        detail
    }

    /// The update's log of a retry that moved `count` deliveries.
    pub(super) fn summary(&self, count: u64) -> String {
        let states: Vec<&str> = self.states.iter().map(|state| state.as_str()).collect();
        let mut what = format!("{count} deliveries ({})", states.join(", "));
        if let Some(channel) = self.channel {
            what.push_str(&format!(" on {channel}"));
        }
        if let Some(reason) = &self.reason {
            what.push_str(&format!(" failing with {reason:?}"));
        }
        what
    }
}
