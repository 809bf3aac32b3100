//! The on-failure handler with the real AWS adapters, against moto (SSM,
//! Step Functions) and the AppFlow emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use appflow_emulator::{Fault, Flow, Operation, TriggerType};
use appflow_retry_policy::naming::{default_parameter, execution_name, flow_parameter};
use chrono::{TimeDelta, Utc};
use common::{PREFIX, World, input_of};
use serde_json::Value;

const DEFAULT: &str = "backoff: {strategy: fixed, initial_delay: 1h, jitter: none}\nnotify: [give_up, skip]\n";

async fn world_with_failure(flow: &str, trigger: TriggerType, message: &str) -> (World, Value) {
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), DEFAULT).await;
    w.emulator.add_flow(Flow::on_demand(flow).trigger(trigger));
    let event = w.emulator.fail_run(
        flow,
        "9aa00099-9943-449a-9c7a-488dbc801242",
        Utc::now() - TimeDelta::minutes(3),
        message,
    );
    (w, event)
}

#[tokio::test]
async fn first_failure_starts_one_execution_with_the_decision() {
    let (w, event) = world_with_failure("sf-accounts", TriggerType::OnDemand, "Read timed out").await;
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(out.execution, "started");
    let name = execution_name("sf-accounts", "9aa00099-9943-449a-9c7a-488dbc801242");
    assert_eq!(w.executions().await, vec![name.clone()]);
    let input = input_of(&w, &name).await;
    assert_eq!(input["flow_name"], "sf-accounts");
    assert_eq!(input["error_message"], "Read timed out");
    assert_eq!(input["decision"]["action"], "retry");
    assert_eq!(input["decision"]["delay_seconds"], 3600);
    assert_eq!(input["decision"]["attempt"], 1);
    assert_eq!(input["decision"]["error_class"], "transient");
    assert_eq!(input["decision"]["policy"], "default");
}

#[tokio::test]
async fn the_same_event_five_times_starts_one_execution() {
    let (w, event) = world_with_failure("sf-accounts", TriggerType::OnDemand, "Read timed out").await;
    let h = w.on_failure();
    let mut decisions = Vec::new();
    for _ in 0..5 {
        decisions.push(h.handle(&event).await.unwrap().decision);
    }
    assert_eq!(w.executions().await.len(), 1);
    assert!(decisions.windows(2).all(|d| d[0] == d[1]));
}

#[tokio::test]
async fn throttled_history_is_retried_and_decided() {
    let (w, event) = world_with_failure("sf-accounts", TriggerType::OnDemand, "Read timed out").await;
    w.emulator
        .inject(Operation::DescribeFlowExecutionRecords, Fault::Throttle, 3);
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(out.decision.action.as_str(), "retry");
    let statuses: Vec<u16> = w
        .emulator
        .calls()
        .iter()
        .filter(|c| c.operation == Operation::DescribeFlowExecutionRecords)
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [429, 429, 429, 200], "the SDK retried the throttled calls");
}

#[tokio::test]
async fn slow_replies_and_server_errors_are_retried() {
    let (w, event) = world_with_failure("sf-accounts", TriggerType::OnDemand, "Read timed out").await;
    w.emulator
        .inject(Operation::DescribeFlowExecutionRecords, Fault::ServerError, 1);
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(out.decision.attempt, Some(1));
    // A reply slower than the attempt timeout (800 ms) is abandoned and retried.
    let (w, event) = world_with_failure("sf-accounts", TriggerType::OnDemand, "Read timed out").await;
    w.emulator
        .inject(Operation::DescribeFlowExecutionRecords, Fault::SlowMs(1500), 1);
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(out.decision.action.as_str(), "retry");
}

#[tokio::test]
async fn history_that_cannot_be_read_is_an_error_not_a_decision() {
    let (w, event) = world_with_failure("sf-accounts", TriggerType::OnDemand, "Read timed out").await;
    w.emulator
        .inject(Operation::DescribeFlowExecutionRecords, Fault::Throttle, 10);
    let err = w.on_failure().handle(&event).await.unwrap_err();
    assert_eq!(err.error_type(), "HistoryUnavailable");
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    assert!(w.executions().await.is_empty());
}

#[tokio::test]
async fn no_flow_parameter_means_the_default_policy() {
    let (w, event) = world_with_failure("sf-accounts", TriggerType::OnDemand, "Read timed out").await;
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(out.decision.policy, "default");
    assert!(out.policy_problems.is_empty());
    let param = flow_parameter(PREFIX, "sf-accounts");
    w.put_parameter(&param, "flow: sf-accounts\nmax_retries: 0\n").await;
    // The same event again, decided on the edited policy: give_up, where the execution holds
    // the retry decided before the edit. That decision stands, and a person is told.
    let fresh = w.on_failure();
    let err = fresh.handle(&event).await.unwrap_err();
    assert_eq!(err.error_type(), "DecisionConflict", "{err}");
    assert!(
        err.to_string().contains("action: ours \"give_up\", theirs \"retry\""),
        "{err}"
    );
    // Another failure of the flow is decided on the flow's parameter.
    let event = w.emulator.fail_run(
        "sf-accounts",
        "9aa00099-9943-449a-9c7a-488dbc801243",
        Utc::now() - TimeDelta::minutes(2),
        "Read timed out",
    );
    let out = fresh.handle(&event).await.unwrap();
    assert_eq!(
        (out.decision.policy.as_str(), out.decision.action.as_str()),
        (param.as_str(), "give_up")
    );
}

/// Captures the JSON log lines the handler writes while `f` runs.
async fn with_logs<F: std::future::Future>(f: F) -> (F::Output, Vec<Value>) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let out = f.await;
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (out, text.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
}

#[tokio::test]
async fn broken_yaml_fails_closed_and_logs_the_parameter() {
    let (w, event) = world_with_failure("sf-accounts", TriggerType::OnDemand, "Read timed out").await;
    let param = flow_parameter(PREFIX, "sf-accounts");
    w.put_parameter(&param, "flow: sf-accounts\nmax_retries: [\n").await;
    let (out, logs) = with_logs(w.on_failure().handle(&event)).await;
    let out = out.unwrap();
    assert_eq!(out.decision.policy, param);
    assert_eq!((out.decision.action.as_str(), out.decision.notify), ("skip", true));
    let errors: Vec<&Value> = logs.iter().filter(|l| l["level"] == "ERROR").collect();
    assert_eq!(errors.len(), 1, "{logs:?}");
    assert_eq!(errors[0]["parameter"], param.as_str());
    assert!(errors[0]["problem"].as_str().unwrap().starts_with("invalid YAML"));
    let decision = logs.iter().find(|l| l["message"] == "decision").unwrap();
    assert_eq!(
        (decision["policy_broken"].as_bool(), decision["action"].as_str()),
        (Some(true), Some("skip"))
    );
    // The execution exists and will notify: the failure reaches a person.
    assert_eq!(w.executions().await.len(), 1);
}

#[tokio::test]
async fn control_characters_in_appflow_messages_stay_escaped_in_logs() {
    let (w, event) = world_with_failure(
        "sf-accounts",
        TriggerType::OnDemand,
        "bad\n{\"level\":\"ERROR\"}\u{1b}[31m",
    )
    .await;
    let (out, logs) = with_logs(w.on_failure().handle(&event)).await;
    out.unwrap();
    // Every line parsed as one JSON object (with_logs would have panicked
    // otherwise), and the message is carried whole, as data.
    let decision = logs.iter().find(|l| l["message"] == "decision").unwrap();
    assert_eq!(decision["error_message"], "bad\n{\"level\":\"ERROR\"}\u{1b}[31m");
    assert!(logs.iter().all(|l| l["level"] != "ERROR"), "no forged line: {logs:?}");
}

#[tokio::test]
async fn scheduled_flows_are_skipped_without_reading_history() {
    let (w, event) = world_with_failure("sf-scheduled", TriggerType::Scheduled, "Read timed out").await;
    let out = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(out.decision.action.as_str(), "skip");
    assert!(out.decision.reason.contains("cannot re-run"));
    assert_eq!(w.emulator.count(Operation::DescribeFlowExecutionRecords), 0);
    assert_eq!(
        w.executions().await.len(),
        1,
        "the skip is recorded and notified by the state machine"
    );
}

#[tokio::test]
async fn tricky_and_long_flow_names_work() {
    let long = format!("a{}", "b".repeat(255));
    for flow in ["sales!force@prod#1", "a_21b", long.as_str()] {
        let (w, event) = world_with_failure(flow, TriggerType::OnDemand, "Read timed out").await;
        let param = flow_parameter(PREFIX, flow);
        w.put_parameter(&param, &format!("flow: \"{flow}\"\nmax_retries: 7\n"))
            .await;
        let out = w.on_failure().handle(&event).await.unwrap();
        assert_eq!(out.decision.policy, param, "{flow}");
        assert_eq!(out.decision.max_retries, 7, "{flow}");
        assert!(out.execution_name.len() <= 80);
        assert_eq!(w.executions().await, vec![out.execution_name.clone()]);
    }
}

#[tokio::test]
async fn a_forged_retry_under_the_runs_name_is_a_decision_conflict() {
    // The run fails with an auth error: the policy's decision is a notified skip.
    let (w, event) = world_with_failure(
        "sf-accounts",
        TriggerType::OnDemand,
        "INVALID_SESSION_ID: Session expired or invalid",
    )
    .await;
    // Someone who may call states:StartExecution took the run's execution name first, with a retry.
    let name = execution_name("sf-accounts", "9aa00099-9943-449a-9c7a-488dbc801242");
    let forged = common::machine_input("retry", Some(3000), false, &["give_up", "skip"]);
    w.sfn
        .start_execution()
        .state_machine_arn(&w.state_machine_arn)
        .name(&name)
        .input(forged.to_string())
        .send()
        .await
        .unwrap();

    let (out, logs) = with_logs(w.on_failure().handle(&event)).await;
    let err = out.unwrap_err();
    assert_eq!(err.error_type(), "DecisionConflict", "{err}");
    assert!(
        err.to_string().contains("action: ours \"skip\", theirs \"retry\""),
        "{err}"
    );
    let line = logs
        .iter()
        .find(|l| {
            l["level"] == "WARN"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("decision conflict"))
        })
        .unwrap_or_else(|| panic!("no conflict line: {logs:?}"));
    assert_eq!(line["execution_name"], name.as_str());
    assert_eq!(
        (
            line["ours_action"].as_str(),
            line["ours_error_class"].as_str(),
            line["ours_attempt"].as_u64()
        ),
        (Some("skip"), Some("auth"), None)
    );
    assert_eq!(
        (
            line["theirs_action"].as_str(),
            line["theirs_error_class"].as_str(),
            line["theirs_attempt"].as_u64()
        ),
        (Some("retry"), Some("transient"), Some(2))
    );
    assert_eq!(line["theirs_reason"], "test reason");
    assert!(line["ours_reason"].as_str().unwrap().contains("skip_errors"), "{line}");
    // Nothing new was started, and the forged execution is the one there is.
    assert_eq!(w.executions().await, vec![name.clone()]);
    assert_eq!(input_of(&w, &name).await, forged);
}
