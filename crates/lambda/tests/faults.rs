//! The fault matrix (issue #8, items 4, 5, 9, 10 and duplicates): both
//! handlers with the real SDK adapters against moto and the AppFlow
//! emulator, with faults injected at every AWS call. Whatever fails, no
//! failure is lost (it is decided, or a named error sends the event back to
//! Lambda), nothing runs twice, and nothing runs that the policy forbids.
//! (SNS faults are the state machine's: crates/lambda/tests/state_machine.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

mod common;

use std::sync::Arc;

use appflow_emulator::{Fault, Flow, Operation, Run};
use appflow_retry_aws::{AwsAppFlow, SfnStateMachine, SsmParameterStore, sdk_config_for_endpoint};
use appflow_retry_policy::naming::{client_token, default_parameter, execution_name, flow_parameter};
use appflow_retry_policy::{Action, Decision};
use appflow_retry_runtime::ports::SystemClock;
use appflow_retry_runtime::{OnFailure, PolicyCache, Restart, RestartInput};
use appflow_retry_testkit::ports::free_port;
use chrono::{DateTime, TimeDelta, Utc};
use common::{PREFIX, World, fast_retry};
use serde_json::{Value, json};

const DEFAULT: &str = "backoff: {strategy: fixed, initial_delay: 1h, jitter: none}\nnotify: [retry, give_up, skip]\n";
const FAILED: &str = "9aa00099-9943-449a-9c7a-488dbc801242";

/// The AppFlow client's attempts per call (`fast_retry().max_attempts`).
fn budget() -> usize {
    fast_retry().max_attempts as usize
}

/// A reply slower than `fast_retry().attempt_timeout`: abandoned and retried.
fn slow() -> Fault {
    Fault::SlowMs(u64::try_from(fast_retry().attempt_timeout.as_millis()).unwrap() + 200)
}

async fn world() -> World {
    World::with_default(DEFAULT).await
}

/// An on-demand flow whose run `FAILED` just failed; the event AppFlow sent.
fn failure(w: &World, flow: &str, at: DateTime<Utc>) -> Value {
    w.emulator.add_flow(Flow::on_demand(flow));
    w.emulator.fail_run(flow, FAILED, at, "Read timed out")
}

/// The emulator's answers for one operation and flow, as HTTP statuses.
fn statuses(w: &World, op: Operation, flow: &str) -> Vec<u16> {
    w.emulator
        .calls()
        .iter()
        .filter(|c| c.operation == op && c.flow.as_deref() == Some(flow))
        .map(|c| c.status)
        .collect()
}

/// Runs StartFlow started for `flow`: its history less the failed run.
fn new_runs(w: &World, flow: &str) -> Vec<Run> {
    w.emulator
        .flow(flow)
        .unwrap()
        .history
        .into_iter()
        .filter(|r| r.execution_id != FAILED)
        .collect()
}

async fn executions_named(w: &World, name: &str) -> usize {
    w.executions().await.iter().filter(|n| *n == name).count()
}

async fn input_of(w: &World, flow: &str) -> Value {
    let name = execution_name(flow, FAILED);
    let arn = format!(
        "{}:{name}",
        w.state_machine_arn.replace(":stateMachine:", ":execution:")
    );
    let d = w.sfn.describe_execution().execution_arn(arn).send().await.unwrap();
    serde_json::from_str(d.input.as_deref().unwrap()).unwrap()
}

/// The restart payload as the state machine's Restart task sends it, for
/// an execution whose backoff ended a second ago.
fn restart_input(d: &Decision) -> Value {
    let delay = i64::try_from(d.delay_seconds.unwrap()).unwrap();
    RestartInput::for_execution(d, Utc::now() - TimeDelta::seconds(delay + 1)).to_json()
}

/// When a failed run started that ended before the execution of
/// [`restart_input`] (its 1 h backoff ended a second ago) began: the
/// restart refuses an execution that started before the run ended.
fn before_the_backoff() -> DateTime<Utc> {
    common::three_minutes_ago() - TimeDelta::hours(1)
}

/// A failure decided `retry` by the real on-failure handler.
async fn decided(w: &World, flow: &str) -> Decision {
    let event = failure(w, flow, before_the_backoff());
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(out.decision.action, Action::Retry, "{}", out.decision.reason);
    assert_eq!(out.decision.delay_seconds, Some(3600));
    out.decision
}

/// An endpoint nothing listens on.
fn closed_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port().unwrap())
}

// ------------------------------------------------------------ on-failure

#[tokio::test]
async fn history_faults_within_the_retry_budget_are_decided_once() {
    let w = world().await;
    let h = w.on_failure();
    for (i, fault) in [Fault::Throttle, Fault::ServerError, slow()].into_iter().enumerate() {
        let flow = format!("sf-below-{i}");
        let event = failure(&w, &flow, common::three_minutes_ago());
        w.emulator
            .inject(Operation::DescribeFlowExecutionRecords, fault, budget() - 1);
        let out = h.handle(&event).await.unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(out.decision.action, Action::Retry, "{fault:?}");
        assert_eq!(out.decision.attempt, Some(1));
        assert_eq!(
            executions_named(&w, &execution_name(&flow, FAILED)).await,
            1,
            "{fault:?}"
        );
        let got = statuses(&w, Operation::DescribeFlowExecutionRecords, &flow);
        match fault {
            Fault::Throttle => assert_eq!(got, [429, 429, 429, 429, 200]),
            Fault::ServerError => assert_eq!(got, [500, 500, 500, 500, 200]),
            // A slow reply the client abandoned may still be logged (200) later.
            _ => assert!(got.contains(&200) && got.len() <= budget(), "{got:?}"),
        }
    }
    assert_eq!(w.executions().await.len(), 3);
}

#[tokio::test]
async fn history_faults_past_the_budget_keep_the_event_and_the_redelivery_decides_as_a_clean_run() {
    let w = world().await;
    let h = w.on_failure();
    let at = common::three_minutes_ago();
    for (i, fault) in [Fault::Throttle, Fault::ServerError, slow()].into_iter().enumerate() {
        // The same failure of two identical flows: one read cleanly, one under faults.
        let (clean, faulty) = (format!("sf-clean-{i}"), format!("sf-faulty-{i}"));
        let clean_out = h.handle(&failure(&w, &clean, at)).await.unwrap();
        let event = failure(&w, &faulty, at);
        w.emulator
            .inject(Operation::DescribeFlowExecutionRecords, fault, budget());
        let err = h.handle(&event).await.unwrap_err();
        assert_eq!(err.error_type(), "HistoryUnavailable", "{fault:?}: {err}");
        let name = execution_name(&faulty, FAILED);
        assert_eq!(executions_named(&w, &name).await, 0, "{fault:?}: nothing started");

        // Lambda's asynchronous retry delivers the same event again.
        let out = h.handle(&event).await.unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(out.execution_name, name);
        assert_eq!(executions_named(&w, &name).await, 1);
        let mut expected = clean_out.decision.clone();
        expected.flow.clone_from(&faulty);
        assert_eq!(out.decision, expected, "{fault:?}");
        let mut input = input_of(&w, &faulty).await;
        input["flow_name"] = json!(clean);
        input["decision"]["flow"] = json!(clean);
        assert_eq!(
            input,
            input_of(&w, &clean).await,
            "{fault:?}: same input as a clean run"
        );
    }
}

#[tokio::test]
async fn ssm_unreadable_is_policy_unavailable_and_nothing_starts() {
    let w = world().await;
    let event = failure(&w, "sf-ssm", common::three_minutes_ago());
    let decision = w
        .on_failure()
        .handle(&failure(&w, "sf-ssm-ok", common::three_minutes_ago()))
        .await
        .unwrap()
        .decision;
    // SSM at a closed port, and SSM answered by a server that is not SSM.
    for endpoint in [closed_endpoint(), w.emulator.endpoint()] {
        let ssm = SsmParameterStore::new(&sdk_config_for_endpoint(&endpoint).await);
        let h = OnFailure {
            policies: PolicyCache::new(ssm.clone(), PREFIX, 60),
            appflow: AwsAppFlow::new(&w.appflow_config, &fast_retry()),
            state_machine: SfnStateMachine::new(&w.moto_config, &w.state_machine_arn),
            clock: SystemClock,
            max_history_pages: 3,
        };
        let err = h.handle(&event).await.unwrap_err();
        assert_eq!(err.error_type(), "PolicyUnavailable", "{endpoint}: {err}");
        let r = Restart {
            policies: PolicyCache::new(ssm, PREFIX, 60),
            appflow: AwsAppFlow::new(&w.appflow_config, &fast_retry()),
            clock: SystemClock,
            max_history_pages: 3,
        };
        let err = r.handle(&restart_input(&decision)).await.unwrap_err();
        assert_eq!(err.error_type(), "PolicyUnavailable", "{endpoint}: {err}");
    }
    // Never a guess: no history read, no execution, no run.
    assert!(statuses(&w, Operation::DescribeFlowExecutionRecords, "sf-ssm").is_empty());
    assert_eq!(executions_named(&w, &execution_name("sf-ssm", FAILED)).await, 0);
    assert_eq!(w.emulator.count(Operation::StartFlow), 0);
}

#[tokio::test]
async fn start_execution_faults_are_named_and_start_nothing() {
    let w = world().await;
    let event = failure(&w, "sf-sfn", common::three_minutes_ago());
    let name = execution_name("sf-sfn", FAILED);
    let missing_arn = w.state_machine_arn.replace("appflow-retry", "no-such-machine");
    for (config, arn, error) in [
        (
            sdk_config_for_endpoint(&closed_endpoint()).await,
            w.state_machine_arn.clone(),
            "StateMachineUnavailable",
        ),
        (w.moto_config.clone(), missing_arn, "StateMachineRejected"),
    ] {
        let h = OnFailure {
            policies: PolicyCache::new(SsmParameterStore::new(&w.moto_config), PREFIX, 60),
            appflow: AwsAppFlow::new(&w.appflow_config, &fast_retry()),
            state_machine: SfnStateMachine::new(&config, &arn),
            clock: SystemClock,
            max_history_pages: 3,
        };
        let err = h.handle(&event).await.unwrap_err();
        assert_eq!(err.error_type(), error, "{err}");
        assert!(w.executions().await.is_empty(), "{error}: nothing started");
    }
    // The redelivered event, with Step Functions back, is decided once.
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(
        (out.execution.as_str(), out.decision.action),
        ("started", Action::Retry)
    );
    assert_eq!(w.executions().await, [name]);
}

// --------------------------------------------------------------- restart

/// The restart's fault matrix on one AppFlow operation: every fault, past
/// the client's budget where the SDK retries it, is the named error the
/// state machine retries; the retried restart then restarts exactly once.
async fn restart_fault_matrix(op: Operation, tag: &str) {
    let w = world().await;
    let matrix = [
        (Fault::Throttle, budget(), "AppFlowThrottled"),
        (Fault::ServerError, budget(), "AppFlowUnavailable"),
        (slow(), budget(), "AppFlowUnavailable"),
        (Fault::QuotaExceeded, 1, "AppFlowThrottled"),
        (Fault::Conflict, 1, "AppFlowUnavailable"),
    ];
    for (i, (fault, times, error)) in matrix.into_iter().enumerate() {
        let flow = format!("sf-{tag}-{i}");
        let decision = decided(&w, &flow).await;
        let input = restart_input(&decision);
        let before = statuses(&w, op, &flow).len();
        w.emulator.inject(op, fault, times);
        let err = w.restart().handle(&input).await.unwrap_err();
        assert_eq!(err.error_type(), error, "{op:?} {fault:?}: {err}");
        let calls = statuses(&w, op, &flow).split_off(before);
        if let Fault::SlowMs(_) = fault {
            assert!(calls.len() <= times, "{op:?} {fault:?}: {calls:?}");
        } else {
            assert_eq!(
                calls.len(),
                times,
                "{op:?} {fault:?}: each fault served once: {calls:?}"
            );
        }
        if op != Operation::StartFlow {
            assert!(statuses(&w, Operation::StartFlow, &flow).is_empty(), "{op:?} {fault:?}");
            assert!(new_runs(&w, &flow).is_empty());
        }
        // A slow StartFlow may have started the run after its caller gave up.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;

        // The state machine's Retry: the same input again.
        let out = w
            .restart()
            .handle(&input)
            .await
            .unwrap_or_else(|e| panic!("{op:?} {fault:?}: {e}"));
        assert_eq!(out.outcome.as_str(), "restarted", "{op:?} {fault:?}: {}", out.reason);
        let runs = new_runs(&w, &flow);
        assert_eq!(runs.len(), 1, "{op:?} {fault:?}: exactly one run: {runs:?}");
        assert_eq!(out.new_execution_id.as_deref(), Some(runs[0].execution_id.as_str()));
        assert!(out.notify, "notify_on has retry");
    }
}

#[tokio::test]
async fn restart_faults_on_describe_flow() {
    restart_fault_matrix(Operation::DescribeFlow, "df").await;
}

#[tokio::test]
async fn restart_faults_on_describe_flow_execution_records() {
    restart_fault_matrix(Operation::DescribeFlowExecutionRecords, "rec").await;
}

#[tokio::test]
async fn restart_faults_on_start_flow() {
    restart_fault_matrix(Operation::StartFlow, "sf").await;
}

#[tokio::test]
async fn a_lost_start_flow_reply_restarts_once_and_reports_the_run() {
    let w = world().await;

    // Lost once: the SDK's retry sends the same client token, AppFlow answers with the same run.
    let decision = decided(&w, "sf-lost-once").await;
    w.emulator.inject(Operation::StartFlow, Fault::LoseReply, 1);
    let out = w.restart().handle(&restart_input(&decision)).await.unwrap();
    let runs = new_runs(&w, "sf-lost-once");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (out.outcome.as_str(), out.new_execution_id.as_deref()),
        ("restarted", Some(runs[0].execution_id.as_str()))
    );
    assert_eq!(statuses(&w, Operation::StartFlow, "sf-lost-once"), [500, 200]);

    // Lost on every attempt: the invocation fails, but the run started.
    let flow = "sf-lost-all";
    let decision = decided(&w, flow).await;
    let input = restart_input(&decision);
    w.emulator.inject(Operation::StartFlow, Fault::LoseReply, budget());
    let err = w.restart().handle(&input).await.unwrap_err();
    assert_eq!(err.error_type(), "AppFlowUnavailable");
    let runs = new_runs(&w, flow);
    assert_eq!(runs.len(), 1, "the first lost attempt started it: {runs:?}");
    let tokens: Vec<_> = w
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == Operation::StartFlow && c.flow.as_deref() == Some(flow))
        .map(|c| c.client_token)
        .collect();
    assert_eq!(tokens.len(), budget());
    assert!(
        tokens
            .iter()
            .all(|t| t.as_deref() == Some(client_token(FAILED).as_str()))
    );
    // The state machine retries: the run that started after the backoff is this restart's own.
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(out.outcome.as_str(), "restarted", "{}", out.reason);
    assert_eq!(out.new_execution_id.as_deref(), Some(runs[0].execution_id.as_str()));
    assert!(out.reason.contains("started by an earlier attempt"), "{}", out.reason);
    assert_eq!(
        statuses(&w, Operation::StartFlow, flow).len(),
        budget(),
        "no StartFlow again"
    );
    assert_eq!(new_runs(&w, flow).len(), 1);

    // The same history seen by a restart whose backoff had not ended when
    // that run started: it is someone else's run, and nothing more starts.
    let early = RestartInput::for_execution(&decision, Utc::now()).to_json();
    let out = w.restart().handle(&early).await.unwrap();
    assert_eq!(out.outcome.as_str(), "skipped", "{}", out.reason);
    assert_eq!(new_runs(&w, flow).len(), 1);
}

#[tokio::test]
async fn a_policy_that_forbids_the_restart_after_the_decision_wins() {
    let w = world().await;
    // Disabled during the wait.
    let decision = decided(&w, "sf-disabled").await;
    w.put_parameter(
        &flow_parameter(PREFIX, "sf-disabled"),
        "flow: sf-disabled\nenabled: false\n",
    )
    .await;
    let out = w.restart().handle(&restart_input(&decision)).await.unwrap();
    assert_eq!(out.outcome.as_str(), "skipped");
    assert!(out.reason.contains("disabled"), "{}", out.reason);

    // Throttled first, disabled before the state machine's retry.
    let decision = decided(&w, "sf-throttled-then-disabled").await;
    let input = restart_input(&decision);
    w.emulator.inject(Operation::StartFlow, Fault::Throttle, budget());
    let err = w.restart().handle(&input).await.unwrap_err();
    assert_eq!(err.error_type(), "AppFlowThrottled");
    w.put_parameter(
        &flow_parameter(PREFIX, "sf-throttled-then-disabled"),
        "flow: sf-throttled-then-disabled\nenabled: false\n",
    )
    .await;
    let out = w.restart().handle(&input).await.unwrap();
    assert_eq!(out.outcome.as_str(), "skipped");

    // Broken during the wait: skipped and always notified.
    let decision = decided(&w, "sf-broken").await;
    w.put_parameter(
        &flow_parameter(PREFIX, "sf-broken"),
        "flow: sf-broken\nenabled: no\nnotify: []\n",
    )
    .await;
    let out = w.restart().handle(&restart_input(&decision)).await.unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true));
    assert!(out.reason.contains("unusable"), "{}", out.reason);

    // The default broken during the wait: every flow skips.
    let decision = decided(&w, "sf-default-broken").await;
    w.put_parameter(&default_parameter(PREFIX), "max_retries: [\n").await;
    let out = w.restart().handle(&restart_input(&decision)).await.unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true));

    for flow in [
        "sf-disabled",
        "sf-throttled-then-disabled",
        "sf-broken",
        "sf-default-broken",
    ] {
        assert!(new_runs(&w, flow).is_empty(), "{flow}: nothing restarted");
        assert!(
            !statuses(&w, Operation::StartFlow, flow).contains(&200),
            "{flow}: no StartFlow succeeded"
        );
    }
}

#[tokio::test]
async fn forged_restart_inputs_start_nothing() {
    let w = world().await;
    let flow = "sf-forged";
    let decision = decided(&w, flow).await;
    let genuine = restart_input(&decision);
    // Another run of the flow that succeeded, and one still running.
    for (id, status) in [("ok-run", "Successful"), ("busy-run", "InProgress")] {
        w.emulator.add_run(
            flow,
            Run {
                execution_id: id.into(),
                status: status.into(),
                started_at: Some(decision.failed_run_started_at - TimeDelta::hours(1)),
                last_updated_at: None,
                message: None,
            },
        );
    }
    let forged_for = |id: &str| {
        let mut d = decision.clone();
        d.execution_id = id.into();
        restart_input(&d)
    };
    type Edit<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let cases: Vec<(Edit<'_>, &str)> = vec![
        (
            Box::new(|v| v["execution_name"] = json!("my-own-execution")),
            "RestartRefused",
        ),
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("execution_name");
            }),
            "RestartRefused",
        ),
        (
            Box::new(|v| v["decision"]["flow"] = json!("sf-other")),
            "RestartRefused",
        ),
        (
            Box::new(|v| v["decision"]["failed_run_started_at"] = json!("2020-01-01T00:00:00Z")),
            "RestartRefused",
        ),
        (Box::new(|v| *v = forged_for("ok-run")), "RestartRefused"),
        (Box::new(|v| *v = forged_for("busy-run")), "RestartRefused"),
        (Box::new(|v| *v = forged_for("no-such-run")), "RestartRefused"),
        (Box::new(|v| v["decision"]["action"] = json!("give_up")), "InvalidInput"),
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("decision");
            }),
            "InvalidInput",
        ),
        (Box::new(|v| v["decision"]["delay_seconds"] = json!(-5)), "InvalidInput"),
        (Box::new(|v| *v = json!("restart please")), "InvalidInput"),
    ];
    for (i, (edit, error)) in cases.into_iter().enumerate() {
        let mut input = genuine.clone();
        edit(&mut input);
        let err = w.restart().handle(&input).await.unwrap_err();
        assert_eq!(err.error_type(), error, "case {i}: {err}");
    }
    assert_eq!(w.emulator.count(Operation::StartFlow), 0, "nothing started");
    // The genuine input still restarts, once.
    let out = w.restart().handle(&genuine).await.unwrap();
    assert_eq!(out.outcome.as_str(), "restarted");
    assert_eq!(new_runs(&w, flow).len(), 3, "ok-run, busy-run and the restart");
    assert_eq!(w.emulator.count(Operation::StartFlow), 1);
}

// ------------------------------------------------------------ duplicates

#[tokio::test]
async fn a_hundred_duplicate_deliveries_among_faults_start_one_execution_and_one_run() {
    let w = world().await;
    let flow = "sf-dup";
    let event = Arc::new(failure(&w, flow, before_the_backoff()));
    let h = Arc::new(w.on_failure());
    // Absorbed by the client's retries, or enough to fail a whole batch of 5.
    let faults = [
        (Fault::Throttle, 3),
        (Fault::ServerError, 5 * budget()),
        (slow(), 2),
        (Fault::Throttle, budget()),
    ];
    let mut decisions = Vec::new();
    let mut kept = 0;
    for batch in 0..20 {
        if batch % 3 == 0 {
            let (fault, times) = faults[(batch / 3) % faults.len()];
            w.emulator.inject(Operation::DescribeFlowExecutionRecords, fault, times);
        }
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let (h, event) = (h.clone(), event.clone());
            set.spawn(async move { h.handle(&event).await });
        }
        for result in set.join_all().await {
            match result {
                Ok(out) => decisions.push(out),
                Err(e) => {
                    assert_eq!(e.error_type(), "HistoryUnavailable", "{e}");
                    kept += 1;
                }
            }
        }
    }
    // Each kept event is redelivered by Lambda until it is decided.
    for _ in 0..kept {
        let mut tries = 0;
        loop {
            tries += 1;
            match h.handle(&event).await {
                Ok(out) => {
                    decisions.push(out);
                    break;
                }
                Err(e) => assert!(tries < 5, "{e}"),
            }
        }
    }
    assert_eq!(decisions.len(), 100);
    assert!(kept > 0, "some deliveries met the faults");
    let first = decisions[0].decision.clone();
    assert!(decisions.iter().all(|d| d.decision == first), "one decision");
    assert!(
        decisions
            .iter()
            .all(|d| matches!(d.execution.as_str(), "started" | "already_exists"))
    );
    let name = execution_name(flow, FAILED);
    assert_eq!(w.executions().await, [name], "exactly one execution");

    // Downstream duplicates: the restart for every delivery's decision,
    // concurrently, some StartFlow replies lost.
    let r = Arc::new(w.restart());
    w.emulator.inject(Operation::StartFlow, Fault::LoseReply, 2);
    let mut outcomes = Vec::new();
    for chunk in decisions.chunks(10) {
        let mut set = tokio::task::JoinSet::new();
        for d in chunk {
            let (r, input) = (r.clone(), restart_input(&d.decision));
            set.spawn(async move { r.handle(&input).await });
        }
        outcomes.extend(set.join_all().await);
    }
    let runs = new_runs(&w, flow);
    assert_eq!(runs.len(), 1, "at most one run started: {runs:?}");
    let restarted: Vec<_> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .filter(|o| o.outcome == "restarted")
        .collect();
    assert!(!restarted.is_empty());
    assert!(
        restarted
            .iter()
            .all(|o| o.new_execution_id.as_deref() == Some(runs[0].execution_id.as_str())),
        "every duplicate reports the one run"
    );
    for o in &outcomes {
        if let Err(e) = o {
            assert_eq!(e.error_type(), "AppFlowUnavailable", "{e}");
        }
    }
    let ok_starts = statuses(&w, Operation::StartFlow, flow)
        .into_iter()
        .filter(|s| *s == 200)
        .count();
    assert!(
        ok_starts <= 10,
        "StartFlow only for the first concurrent batch: {ok_starts}"
    );
}
