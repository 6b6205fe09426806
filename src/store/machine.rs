//! The delivery state machine as every store enforces it: each batch of transitions passes
//! here before any SQL, whichever backend applies it, so no store writes a move that
//! [`Transition::allowed`] forbids.

use crate::domain::DeliveryState;
use crate::store::rows::brussels_time;
use crate::store::{Mark, Transition};
use std::borrow::Cow;

/// The transitions of a batch the state machine allows, for the store to apply.
pub(super) struct Admitted<'a> {
    pub transitions: Cow<'a, [Transition]>,
    /// Where each admitted transition stands in the batch, when some were refused.
    places: Option<Vec<usize>>,
    batch: usize,
}

/// Sorts out the transitions the state machine forbids: a bug upstream, logged, and never
/// applied.
pub(super) fn admit(transitions: &[Transition]) -> Admitted<'_> {
    if transitions.iter().all(Transition::allowed) {
        return Admitted {
            transitions: Cow::Borrowed(transitions),
            places: None,
            batch: transitions.len(),
        };
    }
    let mut places = Vec::with_capacity(transitions.len());
    let mut admitted = Vec::with_capacity(transitions.len());
    for (place, transition) in transitions.iter().enumerate() {
        if transition.allowed() {
            places.push(place);
            admitted.push(transition.clone());
        } else {
            tracing::error!(
                message = "refused a transition the state machine forbids",
                delivery = transition.delivery_id,
                from = %transition.from,
                to = %transition.to,
                mark = ?transition.mark
            );
        }
    }
    Admitted {
        transitions: Cow::Owned(admitted),
        places: Some(places),
        batch: transitions.len(),
    }
}

impl Admitted<'_> {
    /// Which transitions of the whole batch applied, in its order, given which of the
    /// admitted ones did: a refused one did not.
    pub fn applied(&self, applied: Vec<bool>) -> Vec<bool> {
        match &self.places {
            None => applied,
            Some(places) => {
                let mut all = vec![false; self.batch];
                for (place, applied) in places.iter().zip(applied) {
                    all[*place] = applied;
                }
                all
            }
        }
    }
}

/// A delivery whose lease expired after its handover was recorded: the process that held it
/// died between giving the server the message and recording its answer. The server may have
/// the message; sending it again could make it two. A person decides.
pub(super) fn expired_handover(
    delivery_id: i64,
    update_id: i64,
    handed_over_at_ms: i64,
    now_ms: i64,
) -> Transition {
    Transition {
        delivery_id,
        from: DeliveryState::Sending,
        to: DeliveryState::Uncertain,
        at_ms: now_ms,
        next_attempt_at_ms: None,
        gateway_id: None,
        lease_until_ms: None,
        detail: Some(format!(
            "handed over to the server at {}, but its answer was never recorded \
             (the sending process stopped): the message may or may not have \
             arrived; check with the recipient, or send it again with \
             `tocsin update retry {update_id} --state uncertain`",
            brussels_time(handed_over_at_ms)
        )),
        mark: Mark::Nothing,
    }
}

/// What a claim's event says of a delivery it takes from `sending`: a claim before it died.
pub(super) const LEASE_EXPIRED: &str = "the previous claim's lease expired";

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(delivery_id: i64, from: DeliveryState, to: DeliveryState) -> Transition {
        Transition {
            delivery_id,
            from,
            to,
            at_ms: 0,
            next_attempt_at_ms: None,
            gateway_id: None,
            detail: None,
            mark: Mark::Nothing,
            lease_until_ms: None,
        }
    }

    #[test]
    fn a_forbidden_transition_is_left_out_and_reported_not_applied() {
        use DeliveryState::*;
        let batch = [
            transition(1, Sending, Sent),
            transition(2, Sent, Sending),
            transition(3, Pending, Sending),
        ];
        let admitted = admit(&batch);
        let ids: Vec<i64> = admitted.transitions.iter().map(|t| t.delivery_id).collect();
        assert_eq!(ids, [1, 3]);
        assert_eq!(admitted.applied(vec![true, false]), [true, false, false]);
    }
}
