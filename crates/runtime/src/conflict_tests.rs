//! On-failure meets an existing execution of the failure's name
//! (docs/design.md §5.4): a duplicate of its own handling goes by, someone
//! else's decision is a `DecisionConflict`, an unreadable one is retried.

use appflow_retry_policy::naming::execution_name;
use appflow_retry_policy::{Action, Decision, FailureEvent, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::fakes::{Flows, Ports, record};
use crate::ports::PortError;
use crate::{OnFailureError, Origin, state_machine_input};

const FLOW: &str = "sf-accounts";
const FAILED: &str = "9aa00099-9943-449a-9c7a-488dbc801242";
const AUTH: &str = "INVALID_SESSION_ID: Session expired or invalid";
const TIMEOUT: &str = "Read timed out";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T09:02:47Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn event(error: &str) -> Value {
    json!({
        "version": "0", "id": "e", "source": "aws.appflow", "account": "123456789012",
        "detail-type": "AppFlow End Flow Run Report", "time": "2026-11-29T09:06:21Z",
        "region": "us-east-1", "resources": ["x"],
        "detail": {
            "flow-name": FLOW, "execution-id": FAILED, "trigger-type": "ONDEMAND",
            "start-time": "2026-11-29T09:02:47.000Z[UTC]", "status": "Execution Failed",
            "num-of-records-processed": "0", "error": error
        }
    })
}

crate::fakes::test_world!();

impl World {
    /// One on-demand flow whose run FAILED failed at t0, earlier failures `earlier` (minutes
    /// before t0); now is four minutes later. Backoff 2m × 2, no jitter; max_retries 3.
    fn new(earlier: &[i64]) -> World {
        let w = World(Ports::new(
            Flows::default(),
            t0() + TimeDelta::minutes(4),
            "backoff: {jitter: none}\n",
        ));
        let mut records = vec![record(FAILED, RunStatus::Error, t0())];
        records.extend(
            earlier
                .iter()
                .map(|m| record(&format!("e{m}"), RunStatus::Error, t0() - TimeDelta::minutes(*m))),
        );
        w.flows.add(FLOW, "OnDemand", records);
        w
    }

    /// Someone starts an execution under the failure's name first, with `decision`.
    fn forge(&self, decision: &Decision) {
        self.forge_input(&state_machine_input(decision, TIMEOUT).to_string());
    }

    fn forge_input(&self, input: &str) {
        self.machine
            .executions
            .lock()
            .unwrap()
            .push((execution_name(FLOW, FAILED), input.to_owned()));
    }

    fn executions(&self) -> usize {
        self.machine.executions.lock().unwrap().len()
    }

    /// The decision the service makes for the failure with `error`, on a world of its own.
    async fn honest(error: &str, earlier: &[i64]) -> Decision {
        World::new(earlier)
            .on_failure()
            .handle(&event(error))
            .await
            .unwrap()
            .decision
    }
}

fn conflict(r: Result<crate::OnFailureOutput, OnFailureError>) -> String {
    match r {
        Err(e @ OnFailureError::DecisionConflict { .. }) => {
            assert_eq!(e.error_type(), "DecisionConflict");
            e.to_string()
        }
        other => panic!("not a conflict: {other:?}"),
    }
}

#[tokio::test]
async fn a_forged_retry_does_not_silence_a_skip() {
    // The real decision: skip (auth is in skip_errors), notified.
    let skip = World::honest(AUTH, &[]).await;
    assert_eq!((skip.action, skip.notify), (Action::Skip, true));
    // Someone started the run's execution first with a retry (and a long delay).
    let mut forged = World::honest(TIMEOUT, &[]).await;
    forged.delay_seconds = Some(3_000);
    let w = World::new(&[]);
    w.forge(&forged);
    let message = conflict(w.on_failure().handle(&event(AUTH)).await);
    assert!(message.contains("action: ours \"skip\", theirs \"retry\""), "{message}");
    assert!(message.contains("ours: skip (attempt null, class auth)"), "{message}");
    assert!(
        message.contains("theirs: retry (attempt 1, class transient)"),
        "{message}"
    );
    assert!(message.contains(&execution_name(FLOW, FAILED)), "{message}");
    assert_eq!(w.executions(), 1, "nothing new is started");
    assert_eq!(*w.machine.input_reads.lock().unwrap(), 1, "one DescribeExecution");
}

#[tokio::test]
async fn forged_decisions_of_every_kind_are_conflicts() {
    let retry = World::honest(TIMEOUT, &[]).await;
    let mut skip = retry.clone();
    skip.action = Action::Skip;
    skip.delay_seconds = None;
    let mut attempt_2 = retry.clone();
    attempt_2.attempt = Some(2);
    // (earlier failures, the forged decision, what the error names)
    let cases: Vec<(&str, Vec<i64>, &Decision, &str)> = vec![
        (
            "retry over a give_up by max_retries",
            vec![60, 120, 180],
            &retry,
            "action: ours \"give_up\", theirs \"retry\"; attempt: ours 4, theirs 1",
        ),
        (
            "skip over a retry",
            vec![],
            &skip,
            "action: ours \"retry\", theirs \"skip\"",
        ),
        ("another attempt", vec![], &attempt_2, "attempt: ours 1, theirs 2"),
    ];
    for (name, earlier, forged, names) in cases {
        let w = World::new(&earlier);
        w.forge(forged);
        let message = conflict(w.on_failure().handle(&event(TIMEOUT)).await);
        assert!(message.contains(names), "{name}: {message}");
        assert_eq!(w.executions(), 1, "{name}");
    }
    // An input that holds no decision at all.
    let w = World::new(&[]);
    w.forge_input(r#"{"flow_name": "sf-accounts", "decision": {"action": "retry"}}"#);
    let message = conflict(w.on_failure().handle(&event(TIMEOUT)).await);
    assert!(message.contains("input: ours"), "{message}");
}

#[tokio::test]
async fn a_redelivery_after_the_window_is_a_duplicate() {
    let w = World::new(&[]);
    let h = w.on_failure();
    assert_eq!(h.handle(&event(TIMEOUT)).await.unwrap().decision.action, Action::Retry);
    // Hours later the same event again (EventBridge, or a redrive): rule 9 now gives up.
    w.clock.advance(TimeDelta::hours(7));
    let again = h.handle(&event(TIMEOUT)).await.unwrap();
    assert_eq!(
        (again.decision.action, again.execution.as_str()),
        (Action::GiveUp, "already_exists")
    );
    assert_eq!(w.executions(), 1);
}

#[tokio::test]
async fn a_duplicate_after_the_restart_ran_is_a_duplicate() {
    let w = World::new(&[]);
    let h = w.on_failure();
    let first = h.handle(&event(TIMEOUT)).await.unwrap().decision;
    // The restart's own run started after the backoff; then the event comes again.
    w.flows.add(
        FLOW,
        "OnDemand",
        vec![
            record(FAILED, RunStatus::Error, t0()),
            record("restarted-run", RunStatus::InProgress, t0() + TimeDelta::minutes(7)),
        ],
    );
    w.clock.advance(TimeDelta::minutes(10));
    let again = h.handle(&event(TIMEOUT)).await.unwrap();
    assert_eq!(again.decision.action, Action::Skip);
    assert!(
        again.decision.reason.starts_with("superseded"),
        "{}",
        again.decision.reason
    );
    assert_eq!(again.execution.as_str(), "already_exists");
    assert_ne!(first.action, again.decision.action);
}

#[tokio::test]
async fn the_sweep_and_a_late_event_are_duplicates_either_way() {
    let parsed = || FailureEvent::parse(&event(TIMEOUT)).unwrap().0;
    // The sweep first, the event after it.
    let w = World::new(&[]);
    let h = w.on_failure();
    let swept = h.handle_failure(parsed(), Origin::Sweep).await.unwrap();
    assert_eq!(swept.execution.as_str(), "started");
    assert_eq!(
        h.handle(&event(TIMEOUT)).await.unwrap().execution.as_str(),
        "already_exists"
    );
    // The event first, a racing sweep after it, a little later.
    let w = World::new(&[]);
    let h = w.on_failure();
    h.handle(&event(TIMEOUT)).await.unwrap();
    w.clock.advance(TimeDelta::minutes(15));
    let swept = h.handle_failure(parsed(), Origin::Sweep).await.unwrap();
    assert_eq!(swept.execution.as_str(), "already_exists");
    assert_eq!(w.executions(), 1);
}

#[tokio::test]
async fn an_existing_execution_that_cannot_be_read_is_retried_not_taken_as_a_duplicate() {
    for (e, name) in [
        (
            PortError::Throttled("ThrottlingException".into()),
            "StateMachineUnavailable",
        ),
        (
            PortError::Failed("AccessDeniedException".into()),
            "StateMachineRejected",
        ),
    ] {
        let w = World::new(&[]);
        let h = w.on_failure();
        h.handle(&event(TIMEOUT)).await.unwrap();
        *w.machine.fail_input.lock().unwrap() = Some(e);
        let err = h.handle(&event(TIMEOUT)).await.unwrap_err();
        assert_eq!(err.error_type(), name, "{err}");
        assert_eq!(w.executions(), 1);
    }
}

#[tokio::test]
async fn a_huge_forged_decision_is_cut_in_the_error() {
    // Step Functions takes inputs up to 256 KiB: the error (and so the invocation record in
    // the errors queue) stays small whatever the forger wrote.
    let mut forged = World::honest(TIMEOUT, &[]).await;
    forged.reason = "x".repeat(200_000);
    forged.error_class = Some("y".repeat(40_000));
    let w = World::new(&[]);
    w.forge(&forged);
    let message = conflict(w.on_failure().handle(&event(AUTH)).await);
    assert!(message.len() < 20_000, "{}", message.len());
    assert!(message.contains("action: ours \"skip\", theirs \"retry\""));
}
