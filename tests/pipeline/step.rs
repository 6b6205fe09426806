//! The dispatcher driven one `step` at a time, as its doc promises: what a step claims, what
//! it sends, what it has recorded by the time it returns, and the `StepOutcome` it gives.
//! Time comes from a clock the tests move, so nothing falls due behind their back.

use crate::control::{accept, dispatcher, planned, settings, states, Scripted};
use crate::support::TestApp;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tocsin::channels::Outcome;
use tocsin::clock::{Clock, ManualClock};
use tocsin::dispatch::StepOutcome;
use tocsin::domain::{ChannelKind, DeliveryState};

/// `count` planned e-mail deliveries, with the app's clock stopped at the time they are due.
async fn due(count: usize) -> (TestApp, i64, Arc<ManualClock>) {
    let (mut test, id) = planned(count).await;
    let clock = Arc::new(ManualClock::new());
    test.app.clock = Arc::clone(&clock) as Arc<dyn Clock>;
    (test, id, clock)
}

fn busy() -> Outcome {
    Outcome::RetryLater {
        after: Some(Duration::from_secs(60)),
        reason: "452 too busy".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_step_claims_everything_due_batch_after_batch_sends_each_once_and_has_recorded_it() {
    let (test, id, _clock) = due(120).await;
    let channel = Scripted::new(Vec::new(), accept());
    let dispatcher = dispatcher(&test, Arc::clone(&channel), settings());
    let run = dispatcher.start_run();

    let outcome = dispatcher.step(id, &run).await.expect("step");

    assert_eq!(
        outcome,
        StepOutcome::Worked(120),
        "three claims of at most {} in one step",
        settings().claim_batch
    );
    let mut accepted = channel.accepted();
    accepted.sort();
    accepted.dedup();
    assert_eq!(accepted.len(), 120, "everyone once");
    assert_eq!(
        states(test.app.store.as_ref(), id).await,
        HashMap::from([(DeliveryState::Sent, 120)]),
        "recorded before the step returned"
    );
    assert_eq!(dispatcher.tally().finished(), 120);

    assert_eq!(
        dispatcher.step(id, &run).await.expect("step"),
        StepOutcome::Done,
        "nothing is open"
    );
    assert_eq!(channel.calls(), 120, "the last step sent nothing");
    run.recorder().close().await.expect("recorder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_with_only_retries_ahead_sends_nothing_and_says_when_the_first_is_due() {
    let (test, id, clock) = due(10).await;
    let channel = Scripted::new(Vec::new(), busy());
    let dispatcher = dispatcher(&test, Arc::clone(&channel), settings());
    let run = dispatcher.start_run();
    let store = test.app.store.as_ref();

    assert_eq!(
        dispatcher.step(id, &run).await.expect("step"),
        StepOutcome::Worked(10)
    );
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Failed, 10)])
    );
    for contact in 1..=10 {
        let delivery = store
            .delivery(id, contact, ChannelKind::Email)
            .await
            .expect("read")
            .expect("delivery");
        assert_eq!(delivery.attempts, 1, "the claim counted one attempt");
    }

    let retry_at = clock.now_ms() + 60_000;
    assert_eq!(
        dispatcher.step(id, &run).await.expect("step"),
        StepOutcome::Waiting {
            open: 10,
            next_due_ms: retry_at
        },
        "the server's Retry-After is the earliest retry"
    );
    assert_eq!(channel.calls(), 10, "the waiting step sent nothing");
    assert_eq!(
        dispatcher
            .tally()
            .waiting
            .load(std::sync::atomic::Ordering::Relaxed),
        10
    );

    clock.advance(Duration::from_secs(60));
    channel.answer_from_now_on(accept());
    assert_eq!(
        dispatcher.step(id, &run).await.expect("step"),
        StepOutcome::Worked(10),
        "due again once the clock reaches the retry"
    );
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Sent, 10)])
    );
    assert_eq!(
        dispatcher.step(id, &run).await.expect("step"),
        StepOutcome::Done
    );
    run.recorder().close().await.expect("recorder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_of_a_halted_update_claims_and_sends_nothing() {
    let (test, id, _clock) = due(20).await;
    let channel = Scripted::new(Vec::new(), accept());
    let dispatcher = dispatcher(&test, Arc::clone(&channel), settings());
    let run = dispatcher.start_run();
    test.app.halt(id, "Dr. Claes").await.expect("halt");

    assert_eq!(
        dispatcher.step(id, &run).await.expect("step"),
        StepOutcome::Done
    );
    assert_eq!(channel.calls(), 0);
    assert_eq!(
        states(test.app.store.as_ref(), id).await,
        HashMap::from([(DeliveryState::Cancelled, 20)])
    );
    run.recorder().close().await.expect("recorder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_channel_is_refused_holds_what_it_claimed_and_the_next_step_is_done() {
    let (test, id, _clock) = due(12).await;
    let refused = Outcome::Misconfigured {
        reason: "535 authentication failed".into(),
    };
    let channel = Scripted::new(Vec::new(), refused);
    let dispatcher = dispatcher(&test, Arc::clone(&channel), settings());
    let run = dispatcher.start_run();
    let store = test.app.store.as_ref();

    assert_eq!(
        dispatcher.step(id, &run).await.expect("step"),
        StepOutcome::Worked(12),
        "claimed all, held all"
    );
    assert!(
        channel.calls() <= settings().workers,
        "the channel stopped at its first answers ({} calls)",
        channel.calls()
    );
    assert_eq!(
        states(store, id).await,
        HashMap::from([(DeliveryState::Pending, 12)])
    );
    assert_eq!(store.backlog(id).await.expect("backlog").held, 12);
    assert_eq!(
        run.stopped(),
        vec![(ChannelKind::Email, "535 authentication failed".to_string())]
    );

    assert_eq!(
        dispatcher.step(id, &run).await.expect("step"),
        StepOutcome::Done,
        "held deliveries are not open"
    );
    run.recorder().close().await.expect("recorder");
}
