//! The restart handler with the real AppFlow adapter against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use appflow_emulator::{Fault, Flow, Operation, Run, TriggerType};
use appflow_retry_policy::naming::{client_token, default_parameter, flow_parameter};
use chrono::{TimeDelta, Utc};
use common::{Answer, PREFIX, World};
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
    // Within the clock's precision the run may count as started before the execution: the
    // re-decision's superseded skip; else the newer-run check's.
    assert!(out.reason.contains("newer run newer (Successful"), "{}", out.reason);
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

// ---- Forged executions (docs/design.md §6.8): someone who can call
// states:StartExecution starts the retry state machine under a failure's
// derived name with a decision of their own.

/// `now` minus `seconds`, in whole seconds (the precision every side keeps).
fn seconds_ago(seconds: i64) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(Utc::now().timestamp() - seconds, 0).unwrap()
}

/// Starts `input` in moto's Step Functions under `name`, as a holder of
/// states:StartExecution can, runs the real statemachines/retry.asl.json to
/// its end (a stand-in answers the restart message the Restart task queues),
/// and returns the restart payload of that message: what the restart Lambda
/// gets.
async fn forged_execution(w: &World, name: &str, input: &Value) -> Value {
    let stand_in =
        serde_json::json!({"outcome": "skipped", "new_execution_id": null, "reason": "stand-in", "notify": false});
    let (d, taken) = w.run_answering(name, input, vec![Answer::Output(stand_in)]).await;
    assert_eq!(
        d.status,
        aws_sdk_sfn::types::ExecutionStatus::Succeeded,
        "execution {name}: {d:?}"
    );
    let [payload] = <[Value; 1]>::try_from(taken).unwrap();
    payload
}

/// A retry decision a timeout would get, for the run `id` of `flow` started at `at`.
fn forged_retry(flow: &str, id: &str, at: chrono::DateTime<Utc>) -> Value {
    serde_json::json!({
        "flow_name": flow, "execution_id": id, "error_message": "Read timed out",
        "decision": {
            "flow": flow, "execution_id": id,
            "failed_run_started_at": appflow_retry_policy::format_time(at),
            "policy": "default", "error_class": "timeout", "attempt": 1, "max_retries": 3,
            "action": "retry", "delay_seconds": 1, "reason": "restart 1 of 3", "notify_on": [],
            "notify": false,
        },
    })
}

const AUTH: &str = "INVALID_SESSION_ID: Session expired or invalid";

#[tokio::test]
async fn a_forged_retry_for_a_run_that_fails_with_an_auth_error_starts_nothing() {
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), "backoff: {jitter: none}\nnotify: []\n")
        .await;
    let name = |flow: &str| appflow_retry_policy::naming::execution_name(flow, FAILED);

    // 1. Started while the run still runs: it ends a minute after the forged execution starts.
    w.emulator.add_flow(Flow::on_demand("sf-accounts"));
    let start = seconds_ago(10);
    w.emulator.set_run_duration(TimeDelta::seconds(70));
    let event = w.emulator.fail_run("sf-accounts", FAILED, start, AUTH);
    let payload = forged_execution(&w, &name("sf-accounts"), &forged_retry("sf-accounts", FAILED, start)).await;
    // on-failure's own execution name is taken: its skip does not start, and
    // the forged retry standing in its place is a conflict a person is told of.
    let err = w.on_failure().handle(&event).await.unwrap_err();
    assert_eq!(err.error_type(), "DecisionConflict", "{err}");
    let err = w.restart().handle(&payload).await.unwrap_err();
    assert_eq!(err.error_type(), "RestartRefused", "{err}");
    assert!(err.to_string().contains("before the failed run"), "{err}");

    // 2. Started after the run ended, before on-failure's event came: re-decided, skipped, told.
    w.emulator.add_flow(Flow::on_demand("sf-contacts"));
    let start = seconds_ago(180);
    w.emulator.set_run_duration(TimeDelta::seconds(30));
    w.emulator.fail_run("sf-contacts", FAILED, start, AUTH);
    let payload = forged_execution(&w, &name("sf-contacts"), &forged_retry("sf-contacts", FAILED, start)).await;
    let out = w.restart().handle(&payload).await.unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(out.reason.contains("input says retry 1/3 after 1s"), "{}", out.reason);
    assert!(
        out.reason.contains("skip (error class auth is in skip_errors"),
        "{}",
        out.reason
    );

    assert_eq!(
        w.emulator.count(Operation::StartFlow),
        0,
        "no StartFlow reached AppFlow"
    );
}

#[tokio::test]
async fn a_forged_reactivation_of_a_flow_a_person_stopped_starts_nothing() {
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), "backoff: {jitter: none}\n")
        .await;
    w.put_parameter(
        &flow_parameter(PREFIX, "nightly-orders"),
        "flow: nightly-orders\nreactivate: {enabled: true, backoff: {jitter: none}}\n",
    )
    .await;
    // A scheduled flow that never failed, stopped by a person.
    w.emulator.add_flow(
        Flow::on_demand("nightly-orders")
            .trigger(TriggerType::Scheduled)
            .status("Suspended"),
    );
    for i in 1..=3 {
        let at = seconds_ago(3600 * i);
        w.emulator.add_run(
            "nightly-orders",
            Run {
                execution_id: format!("run-{i}"),
                status: "Successful".into(),
                started_at: Some(at),
                last_updated_at: Some(at + TimeDelta::minutes(1)),
                message: None,
            },
        );
    }
    let stopped = seconds_ago(60);
    let id = appflow_retry_policy::deactivation_id_at(stopped);
    let input = serde_json::json!({
        "flow_name": "nightly-orders", "execution_id": id, "error_message": "3 consecutive failures",
        "decision": {
            "flow": "nightly-orders", "execution_id": id,
            "failed_run_started_at": appflow_retry_policy::format_time(stopped),
            "policy": "default", "error_class": "timeout", "attempt": 1, "max_retries": 3,
            "action": "reactivate", "delay_seconds": 1, "reason": "re-activation 1 of 3",
            "notify_on": ["reactivate"], "notify": true,
        },
    });
    let name = appflow_retry_policy::naming::execution_name("nightly-orders", &id);
    let payload = forged_execution(&w, &name, &input).await;
    let out = w.restart().handle(&payload).await.unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(
        out.reason.contains("no failed run precedes the deactivation"),
        "{}",
        out.reason
    );
    assert_eq!(
        w.emulator.count(Operation::StartFlow),
        0,
        "no StartFlow reached AppFlow"
    );
    assert_eq!(w.emulator.flow("nightly-orders").unwrap().status, "Suspended");
}
