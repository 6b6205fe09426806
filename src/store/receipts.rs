//! What a batch of receipts does, the same for every backend: which delivery each names, and,
//! once the store has kept the new ones (`receipts`, once per delivery, gateway and status),
//! which move their delivery and which are only noted. Each store reads and writes the rows
//! with its own SQL (`sqlite/receipts.rs`, `postgres/receipts.rs`).

use crate::domain::{DeliveryState, GatewayId};
use crate::store::{Mark, Receipt, ReceiptEffect, Result, StoreError, Transition};
use std::collections::{HashMap, HashSet};

/// The deliveries the receipts of a batch name, as the store found them.
#[derive(Default)]
pub(super) struct Named {
    found: HashMap<i64, Found>,
    by_gateway_id: HashMap<String, i64>,
}

/// A delivery as a receipt finds it: its current state and gateway id.
struct Found {
    state: DeliveryState,
    gateway_id: Option<String>,
}

impl Named {
    /// A delivery row the store read: by one of the batch's delivery ids or gateway ids.
    pub fn add(&mut self, id: i64, state: &str, gateway_id: Option<String>) -> Result<()> {
        let state = state
            .parse()
            .map_err(|error| StoreError::Corrupt(format!("delivery {id}: {error}")))?;
        if let Some(gateway_id) = &gateway_id {
            self.by_gateway_id.insert(gateway_id.clone(), id);
        }
        self.found.insert(id, Found { state, gateway_id });
        Ok(())
    }

    /// The delivery a receipt names, if it names one. With both a delivery id and a message
    /// id, both must agree — except that a verified receipt may reach a delivery whose send is
    /// not recorded yet (no gateway id).
    fn resolve(&self, receipt: &Receipt) -> Option<i64> {
        match (receipt.delivery_id, gateway_id(receipt)) {
            (Some(id), Some(gateway_id)) => self.found.get(&id).and_then(|delivery| {
                let agrees = match &delivery.gateway_id {
                    Some(known) => *known == gateway_id,
                    None => receipt.verified,
                };
                agrees.then_some(id)
            }),
            (Some(id), None) => (receipt.verified && self.found.contains_key(&id)).then_some(id),
            (None, Some(gateway_id)) => self.by_gateway_id.get(&gateway_id).copied(),
            (None, None) => None,
        }
    }

    /// `(index of the receipt, delivery id)` of each receipt that names a delivery, in order.
    pub fn resolve_all(&self, receipts: &[Receipt]) -> Vec<(usize, i64)> {
        receipts
            .iter()
            .enumerate()
            .filter_map(|(index, receipt)| self.resolve(receipt).map(|id| (index, id)))
            .collect()
    }

    /// Given which receipts were new (`(delivery id, gateway, status)` as the insert returned
    /// them), what each receipt does: a new one moves its delivery if the state machine
    /// allows, else is noted as an event; a known one is a duplicate.
    pub fn decide(
        &mut self,
        receipts: &[Receipt],
        resolved: Vec<(usize, i64)>,
        mut new: HashSet<(i64, String, String)>,
    ) -> Decision {
        let mut decision = Decision {
            effects: vec![ReceiptEffect::Unknown; receipts.len()],
            transitions: Vec::new(),
            moved: Vec::new(),
            noted: Vec::new(),
        };
        for (index, id) in resolved {
            let receipt = &receipts[index];
            let key = (id, receipt.gateway.clone(), receipt.status.clone());
            if !new.remove(&key) {
                decision.effects[index] = ReceiptEffect::Duplicate;
                continue;
            }
            let Some(delivery) = self.found.get_mut(&id) else {
                continue;
            };
            if receipt.state != DeliveryState::Sent && delivery.state.can_become(receipt.state) {
                decision.transitions.push(Transition {
                    delivery_id: id,
                    from: delivery.state,
                    to: receipt.state,
                    at_ms: receipt.at_ms,
                    next_attempt_at_ms: None,
                    gateway_id: gateway_id(receipt),
                    detail: Some(detail(receipt)),
                    mark: Mark::Nothing,
                    lease_until_ms: None,
                });
                decision.moved.push(index);
                delivery.state = receipt.state;
            } else {
                decision.noted.push(Noted {
                    delivery_id: id,
                    state: delivery.state,
                    detail: detail(receipt),
                    at_ms: receipt.at_ms,
                });
                decision.effects[index] = ReceiptEffect::Noted;
            }
        }
        decision
    }
}

/// What the receipts of a batch do.
pub(super) struct Decision {
    pub effects: Vec<ReceiptEffect>,
    /// For the store to apply: `moved[i]` is the receipt of `transitions[i]`.
    pub transitions: Vec<Transition>,
    moved: Vec<usize>,
    /// Events only: the state stays.
    pub noted: Vec<Noted>,
}

impl Decision {
    /// The effects, given which of `transitions` applied.
    pub fn effects(mut self, applied: Vec<bool>) -> Vec<ReceiptEffect> {
        for (index, applied) in self.moved.into_iter().zip(applied) {
            // The deliveries were read under the store's lock (SQLite's write lock, or
            // PostgreSQL's row locks) with the states just read: every transition applies.
            self.effects[index] = if applied {
                ReceiptEffect::Applied
            } else {
                ReceiptEffect::Noted
            };
        }
        self.effects
    }
}

/// A receipt kept as an event of its delivery, whose state stays.
pub(super) struct Noted {
    pub delivery_id: i64,
    pub state: DeliveryState,
    pub detail: String,
    pub at_ms: i64,
}

/// The `gateway_id` a receipt names, if it gives a message id.
pub(super) fn gateway_id(receipt: &Receipt) -> Option<String> {
    receipt
        .message_id
        .as_ref()
        .map(|message_id| GatewayId::new(&receipt.gateway, message_id).to_string())
}

fn detail(receipt: &Receipt) -> String {
    let mut detail = format!("{} receipt: {}", receipt.gateway, receipt.status);
    if let Some(code) = &receipt.code {
        detail.push_str(&format!(" (code {code})"));
    }
    if let Some(text) = receipt.text.as_deref().filter(|text| !text.is_empty()) {
        detail.push_str(&format!(": {text}"));
    }
    detail
}
