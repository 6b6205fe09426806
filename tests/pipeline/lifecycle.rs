//! The update's life cycle as its runs start and end: `dispatch::lifecycle::advance`, the one
//! place `update send` and `tocsin serve` ask.

use crate::support::{seed, TestApp, EMAIL_UPDATE};
use tocsin::dispatch::lifecycle::{advance, Moment};
use tocsin::dispatch::RunEnd;
use tocsin::domain::{ChannelKind, UpdateState};
use tocsin::store::prelude::*;

async fn approved() -> (TestApp, i64) {
    let test = TestApp::new(|_| {}).await;
    seed(&test.app, 3).await;
    let id = test.approved_update(EMAIL_UPDATE).await;
    (test, id)
}

async fn state(store: &dyn Store, id: i64) -> UpdateState {
    store.update(id).await.expect("update").state
}

fn starts(state: UpdateState, fallbacks: u64) -> Moment<'static> {
    Moment::RunStarts { state, fallbacks }
}

#[tokio::test]
async fn an_approved_update_is_sending_from_its_first_run_and_sent_once_a_run_finishes() {
    let (test, id) = approved().await;
    let store = test.app.store.as_ref();

    let set = advance(store, id, starts(UpdateState::Approved, 0), 0).await;
    assert_eq!(set.expect("advance"), Some(UpdateState::Sending));
    assert_eq!(state(store, id).await, UpdateState::Sending);

    let set = advance(store, id, starts(UpdateState::Sending, 3), 0).await;
    assert_eq!(set.expect("advance"), None, "sending stays so");

    let set = advance(store, id, Moment::RunEnded(&RunEnd::Finished), 0).await;
    assert_eq!(set.expect("advance"), Some(UpdateState::Sent));
    assert_eq!(state(store, id).await, UpdateState::Sent);
}

#[tokio::test]
async fn a_sent_update_is_sending_again_only_when_a_sweep_planned_fallbacks_for_it() {
    let (test, id) = approved().await;
    let store = test.app.store.as_ref();
    store
        .set_update_state(id, UpdateState::Sent)
        .await
        .expect("sent");

    let set = advance(store, id, starts(UpdateState::Sent, 0), 0).await;
    assert_eq!(set.expect("advance"), None);
    assert_eq!(state(store, id).await, UpdateState::Sent);

    let set = advance(store, id, starts(UpdateState::Sent, 2), 0).await;
    assert_eq!(set.expect("advance"), Some(UpdateState::Sending));
    assert_eq!(state(store, id).await, UpdateState::Sending);
}

#[tokio::test]
async fn a_stopped_run_pauses_the_update_with_each_reason_and_a_halted_update_stays_halted() {
    let (test, id) = approved().await;
    let store = test.app.store.as_ref();
    advance(store, id, starts(UpdateState::Approved, 0), 0)
        .await
        .expect("advance");
    let stopped = RunEnd::Stopped(vec![
        (ChannelKind::Email, "535 authentication failed".into()),
        (ChannelKind::Sms, "no gateway takes our key".into()),
    ]);

    let set = advance(store, id, Moment::RunEnded(&stopped), 0).await;
    assert_eq!(set.expect("advance"), None);
    let update = store.update(id).await.expect("update");
    assert_eq!(update.state, UpdateState::Sending, "paused, not sent");
    assert_eq!(
        update.paused,
        Some(format!(
            "{}: 535 authentication failed; {}: no gateway takes our key",
            ChannelKind::Email,
            ChannelKind::Sms
        ))
    );

    test.app.halt(id, "Dr. Claes").await.expect("halt");
    let set = advance(store, id, Moment::RunEnded(&RunEnd::Halted), 0).await;
    assert_eq!(set.expect("advance"), None);
    advance(store, id, Moment::RunEnded(&RunEnd::Finished), 0)
        .await
        .expect("advance");
    assert_eq!(
        state(store, id).await,
        UpdateState::Halted,
        "a run that finished anyway does not undo the halt"
    );
}
