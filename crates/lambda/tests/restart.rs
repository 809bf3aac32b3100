//! The restart handler with the real AppFlow adapter against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use appflow_emulator::{Fault, Flow, Operation, Run, TriggerType};
use appflow_retry_policy::naming::{client_token, default_parameter, flow_parameter};
use chrono::{TimeDelta, Utc};
use common::{PREFIX, World};
use serde_json::Value;

const FAILED: &str = "9aa00099-9943-449a-9c7a-488dbc801242";

/// A world where `sf-accounts` failed and on-failure decided to retry;
/// returns the state machine input the restart Lambda gets.
async fn decided() -> (World, Value) {
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), "backoff: {jitter: none}\n")
        .await;
    w.emulator.add_flow(Flow::on_demand("sf-accounts"));
    let event = w.emulator.fail_run(
        "sf-accounts",
        FAILED,
        Utc::now() - TimeDelta::minutes(3),
        "Read timed out",
    );
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(out.decision.action.as_str(), "retry");
    let input = appflow_retry_runtime::RestartInput::for_execution(&out.decision, Utc::now()).to_json();
    (w, input)
}

#[tokio::test]
async fn restarts_the_flow_with_a_client_token() {
    let (w, input) = decided().await;
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(out.outcome.as_str(), "restarted");
    let new_id = out.new_execution_id.unwrap();
    let starts: Vec<_> = w
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == Operation::StartFlow)
        .collect();
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].client_token.as_deref(), Some(client_token(FAILED).as_str()));
    let history = w.emulator.flow("sf-accounts").unwrap().history;
    assert!(
        history
            .iter()
            .any(|r| r.execution_id == new_id && r.status == "Successful")
    );
    assert_eq!(w.emulator.take_events().len(), 1, "the new run reports its end");
}

#[tokio::test]
async fn the_client_token_is_the_same_on_a_repeat() {
    let (w, input) = decided().await;
    // Every attempt of the first invocation fails; the state machine's Retry invokes again.
    w.emulator.inject(Operation::StartFlow, Fault::ServerError, 5);
    let err = w.restart().handle(&input).await.unwrap_err();
    assert_eq!(err.error_type(), "AppFlowUnavailable");
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(out.outcome.as_str(), "restarted");
    let tokens: Vec<_> = w
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == Operation::StartFlow)
        .map(|c| c.client_token)
        .collect();
    assert_eq!(tokens.len(), 6);
    assert!(
        tokens
            .iter()
            .all(|t| t.as_deref() == Some(client_token(FAILED).as_str())),
        "{tokens:?}"
    );
    // A repeat after success gets the same run back from AppFlow, not a second one.
    let flow = w.emulator.flow("sf-accounts").unwrap();
    assert_eq!(flow.history.iter().filter(|r| r.status == "Successful").count(), 1);
}

#[tokio::test]
async fn throttled_restarts_are_named_for_the_state_machine() {
    let (w, input) = decided().await;
    w.emulator.inject(Operation::StartFlow, Fault::Throttle, 10);
    let err = w.restart().handle(&input).await.unwrap_err();
    assert_eq!(err.error_type(), "AppFlowThrottled");
}

#[tokio::test]
async fn skips_when_a_newer_run_succeeded() {
    let (w, input) = decided().await;
    w.emulator.add_run(
        "sf-accounts",
        Run {
            execution_id: "newer".into(),
            status: "Successful".into(),
            started_at: Some(Utc::now()),
            last_updated_at: Some(Utc::now()),
            message: None,
        },
    );
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(out.outcome.as_str(), "skipped");
    assert!(out.reason.contains("newer run newer (Successful)"), "{}", out.reason);
    assert!(out.notify);
    assert_eq!(w.emulator.count(Operation::StartFlow), 0);
}

#[tokio::test]
async fn skips_when_the_flow_is_deleted_or_not_active_or_not_on_demand() {
    let (w, input) = decided().await;
    w.emulator.delete_flow("sf-accounts");
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(
        (out.outcome.as_str(), out.reason.as_str()),
        ("skipped", "the flow no longer exists")
    );

    let (w, input) = decided().await;
    w.emulator.set_status("sf-accounts", "Suspended");
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(
        (out.outcome.as_str(), out.reason.as_str()),
        ("skipped", "the flow is Suspended, not Active")
    );

    let (w, input) = decided().await;
    let mut flow = w.emulator.flow("sf-accounts").unwrap();
    flow.trigger = TriggerType::Scheduled;
    w.emulator.add_flow(flow);
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(out.outcome.as_str(), "skipped");
    assert!(out.reason.contains("Scheduled"));
    assert_eq!(w.emulator.count(Operation::StartFlow), 0);
}

#[tokio::test]
async fn skips_when_the_policy_was_disabled_during_the_wait() {
    let (w, input) = decided().await;
    w.put_parameter(
        &flow_parameter(PREFIX, "sf-accounts"),
        "flow: sf-accounts\nenabled: false\n",
    )
    .await;
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(out.outcome.as_str(), "skipped");
    assert!(out.reason.contains("disabled"));
}

/// A scheduled flow deactivated by the emulator after its threshold of failed
/// runs is re-activated end to end: the deactivation event, on-failure's
/// decision (threshold read through the real DescribeFlow adapter), the
/// restart's re-checks and StartFlow.
#[tokio::test]
async fn a_deactivated_scheduled_flow_is_reactivated() {
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), "backoff: {jitter: none}\n")
        .await;
    w.put_parameter(
        &flow_parameter(PREFIX, "nightly-orders"),
        "flow: nightly-orders\nreactivate: {enabled: true, max_reactivations: 2, backoff: {jitter: none}}\nnotify: [reactivate]\n",
    )
    .await;
    w.emulator.add_flow(
        Flow::on_demand("nightly-orders")
            .trigger(TriggerType::Scheduled)
            .deactivate_after(2),
    );
    let start = Utc::now() - TimeDelta::minutes(30);
    let first = w.emulator.fail_run("nightly-orders", "run-1", start, "Read timed out");
    // A failed run of a scheduled flow is skipped, quietly: re-activation covers it.
    let out = w.on_failure().handle(&first).await.unwrap();
    assert_eq!((out.decision.action.as_str(), out.decision.notify), ("skip", false));
    assert!(
        w.emulator.take_events().is_empty(),
        "one failure is below the threshold"
    );
    w.emulator.fail_run(
        "nightly-orders",
        "run-2",
        start + TimeDelta::minutes(10),
        "Read timed out",
    );
    assert_eq!(w.emulator.flow("nightly-orders").unwrap().status, "Suspended");
    let events = w.emulator.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "AppFlow Scheduled Flow Deactivated");

    let out = w.on_failure().handle(&events[0]).await.unwrap();
    let d = &out.decision;
    assert_eq!(d.action.as_str(), "reactivate", "{d:#?}");
    assert_eq!((d.attempt, d.max_retries, d.notify), (Some(1), 2, true));
    assert!(d.reason.contains("threshold 2"), "{}", d.reason);

    let input = appflow_retry_runtime::RestartInput::for_execution(d, Utc::now()).to_json();
    let restarted = w.restart().handle(&input).await.unwrap();
    assert_eq!(restarted.outcome.as_str(), "reactivated", "{restarted:?}");
    assert_eq!(restarted.flow_status.as_deref(), Some("Active"));
    assert_eq!(w.emulator.flow("nightly-orders").unwrap().status, "Active");
    let starts: Vec<_> = w
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == Operation::StartFlow)
        .collect();
    assert_eq!(starts.len(), 1);
    assert_eq!(
        starts[0].client_token.as_deref(),
        Some(client_token(&d.execution_id).as_str())
    );
    assert_eq!(
        w.emulator.flow("nightly-orders").unwrap().history.len(),
        2,
        "no run started"
    );

    // A second step run (a retried Lambda) starts nothing more.
    let again = w.restart().handle(&input).await.unwrap();
    assert_eq!((again.outcome.as_str(), again.notify), ("skipped", true));
    assert_eq!(w.emulator.count(Operation::StartFlow), 1);
}
