//! The built Lambda binaries under a local Lambda Runtime API: configured
//! only by environment variables, as in AWS, talking to moto and the
//! AppFlow emulator through the standard AWS_ENDPOINT_URL* variables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Stdio;

use appflow_emulator::Flow;
use appflow_retry_policy::naming::default_parameter;
use appflow_retry_runtime::{SWEEP_BACKLOG_GRACE_MINUTES, SWEEP_GRACE_MINUTES};
use appflow_retry_testkit::lambda_api::RuntimeApi;
use chrono::{TimeDelta, Utc};
use common::{PREFIX, World};
use serde_json::json;

fn spawn(api: &RuntimeApi, w: &World, binary: &str) -> tokio::process::Child {
    spawn_with(api, w, binary, &[])
}

fn spawn_with(api: &RuntimeApi, w: &World, binary: &str, extra: &[(&str, &str)]) -> tokio::process::Child {
    let appflow = w.emulator.endpoint();
    let mut env = vec![
        ("AWS_ENDPOINT_URL", w.moto.endpoint()),
        ("AWS_ENDPOINT_URL_APPFLOW", appflow.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("APPFLOW_RETRY_STATE_MACHINE_ARN", w.state_machine_arn.as_str()),
        ("APPFLOW_RETRY_POLICY_PREFIX", PREFIX),
    ];
    env.extend_from_slice(extra);
    api.function_command(Path::new(binary), &env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn on_failure_binary_decides_and_names_bad_event_fields() {
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), "backoff: {jitter: none}\n")
        .await;
    w.emulator.add_flow(Flow::on_demand("sf-accounts"));
    let event = w.emulator.fail_run(
        "sf-accounts",
        "run-1",
        Utc::now() - TimeDelta::minutes(3),
        "Read timed out",
    );
    let api = RuntimeApi::start().await.unwrap();
    let _child = spawn(&api, &w, env!("CARGO_BIN_EXE_on-failure"));

    let out = api.invoke(event.clone()).await.unwrap();
    assert_eq!(out["decision"]["action"], "retry");
    assert_eq!(out["execution"], "started");
    assert_eq!(w.executions().await.len(), 1);

    let mut not_appflow = event.clone();
    not_appflow["source"] = json!("aws.s3");
    let err = api.invoke(not_appflow).await.unwrap_err();
    assert_eq!(err.error_type, "InvalidEvent");
    assert!(err.error_message.contains("event field `source`"), "{err}");

    let mut no_id = event.clone();
    no_id["detail"].as_object_mut().unwrap().remove("execution-id");
    let err = api.invoke(no_id).await.unwrap_err();
    assert_eq!(err.error_type, "InvalidEvent");
    assert!(err.error_message.contains("`detail.execution-id`: missing"), "{err}");

    let mut no_type = event.clone();
    no_type.as_object_mut().unwrap().remove("detail-type");
    let err = api.invoke(no_type).await.unwrap_err();
    assert!(err.error_message.contains("detail-type"), "{err}");

    // A malformed envelope is the handler's to name, not the runtime's.
    for bad in [
        json!([1, 2]),
        json!({"source": 5}),
        json!({"source": "aws.appflow", "detail-type": "AppFlow End Flow Run Report", "time": {}, "detail": 7}),
    ] {
        let err = api.invoke(bad.clone()).await.unwrap_err();
        assert_eq!(err.error_type, "InvalidEvent", "{bad}: {err}");
    }

    // Still serving after errors; the duplicate starts nothing new (Step
    // Functions answers an identical StartExecution with the running execution).
    api.invoke(event).await.unwrap();
    assert_eq!(w.executions().await.len(), 1);
}

#[tokio::test]
async fn restart_binary_restarts_and_names_bad_input() {
    let w = World::new().await;
    w.emulator.add_flow(Flow::on_demand("sf-accounts"));
    let event = w.emulator.fail_run(
        "sf-accounts",
        "run-1",
        Utc::now() - TimeDelta::minutes(3),
        "Read timed out",
    );
    let decided = w.on_failure().handle(&event).await.unwrap();
    let input = appflow_retry_runtime::RestartInput::for_execution(&decided.decision, Utc::now()).to_json();
    let api = RuntimeApi::start().await.unwrap();
    let _child = spawn(&api, &w, env!("CARGO_BIN_EXE_restart"));

    let out = api.invoke(input.clone()).await.unwrap();
    assert_eq!(out["outcome"], "restarted");
    assert!(out["new_execution_id"].is_string());

    let err = api.invoke(json!({"flow_name": "sf-accounts"})).await.unwrap_err();
    assert_eq!(err.error_type, "InvalidInput");
    assert!(err.error_message.contains("execution_id"), "{err}");

    // A forged retry for a run that failed with an auth error (skip_errors): re-decided
    // from AppFlow's record, skipped and told; StartFlow is not called again.
    w.emulator.add_flow(Flow::on_demand("sf-contacts"));
    let started = chrono::DateTime::from_timestamp(Utc::now().timestamp() - 180, 0).unwrap();
    w.emulator.fail_run(
        "sf-contacts",
        "run-2",
        started,
        "INVALID_SESSION_ID: Session expired or invalid",
    );
    let mut forged = input.clone();
    forged["decision"]["flow"] = json!("sf-contacts");
    forged["decision"]["execution_id"] = json!("run-2");
    forged["decision"]["failed_run_started_at"] = json!(appflow_retry_policy::format_time(started));
    forged["flow_name"] = json!("sf-contacts");
    forged["execution_id"] = json!("run-2");
    forged["execution_name"] = json!(appflow_retry_policy::naming::execution_name("sf-contacts", "run-2"));
    let before = w.emulator.count(appflow_emulator::Operation::StartFlow);
    let out = api.invoke(forged).await.unwrap();
    assert_eq!(
        (&out["outcome"], &out["notify"]),
        (&json!("skipped"), &json!(true)),
        "{out}"
    );
    assert!(
        out["reason"]
            .as_str()
            .unwrap()
            .contains("error class auth is in skip_errors"),
        "{out}"
    );
    assert_eq!(w.emulator.count(appflow_emulator::Operation::StartFlow), before);
}

#[tokio::test]
async fn sweep_binary_recovers_a_lost_event_for_covered_flows_only() {
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), "backoff: {jitter: none}\n")
        .await;
    for flow in ["sap-orders", "marketo-leads"] {
        w.emulator.add_flow(Flow::on_demand(flow));
        w.emulator.fail_run(
            flow,
            &format!("run-{flow}"),
            Utc::now() - TimeDelta::minutes(SWEEP_GRACE_MINUTES + 10),
            "Read timed out",
        );
    }
    let api = RuntimeApi::start().await.unwrap();
    let _child = spawn_with(
        &api,
        &w,
        env!("CARGO_BIN_EXE_sweep"),
        &[("APPFLOW_RETRY_COVERED_FLOWS", "sap-*,salesforce-accounts")],
    );
    // What EventBridge Scheduler-style rules send: the sweep reads none of it.
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let out = api.invoke(scheduled.clone()).await.unwrap();
    assert_eq!(out["recovered"][0]["flow"], "sap-orders");
    assert_eq!(out["recovered"].as_array().unwrap().len(), 1);
    assert_eq!(out["left_for_next_run"], 0);
    assert_eq!(
        w.executions().await,
        vec![appflow_retry_policy::naming::execution_name(
            "sap-orders",
            "run-sap-orders"
        )]
    );
    // The same (warm) instance: the flow it read completely is not read
    // again while its last run is the same.
    let reads = w
        .emulator
        .count(appflow_emulator::Operation::DescribeFlowExecutionRecords);
    let again = api.invoke(scheduled).await.unwrap();
    assert_eq!(
        (again["already_read"].as_u64(), again["examined"].as_u64()),
        (Some(1), Some(0)),
        "{again:#}"
    );
    assert_eq!(
        w.emulator
            .count(appflow_emulator::Operation::DescribeFlowExecutionRecords),
        reads
    );
    assert_eq!(w.executions().await.len(), 1);
}

#[tokio::test]
async fn sweep_binary_leaves_failures_to_a_waiting_intake_queue() {
    // Events wait in the intake queue (a storm): a failure 20 minutes old may
    // be among them, so the sweep leaves it to the event path for the
    // backlog grace; the queue emptied, the next sweep decides it.
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), "backoff: {jitter: none}\n")
        .await;
    w.emulator.add_flow(Flow::on_demand("sap-orders"));
    w.emulator.fail_run(
        "sap-orders",
        "run-1",
        Utc::now() - TimeDelta::minutes(SWEEP_GRACE_MINUTES + 10),
        "Read timed out",
    );
    let sqs = aws_sdk_sqs::Client::new(&w.moto_config);
    let url = sqs
        .create_queue()
        .queue_name("appflow-retry-intake")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.send_message()
        .queue_url(&url)
        .message_body("{}")
        .send()
        .await
        .unwrap();
    let api = RuntimeApi::start().await.unwrap();
    let _child = spawn_with(
        &api,
        &w,
        env!("CARGO_BIN_EXE_sweep"),
        &[("APPFLOW_RETRY_INTAKE_QUEUE_URL", url.as_str())],
    );
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let out = api.invoke(scheduled.clone()).await.unwrap();
    assert_eq!(out["intake_backlog"], 1, "{out:#}");
    assert_eq!(out["grace_seconds"], SWEEP_BACKLOG_GRACE_MINUTES * 60, "{out:#}");
    assert_eq!(
        (out["within_grace"].as_u64(), out["recovered"].as_array().map(Vec::len)),
        (Some(1), Some(0))
    );
    assert!(w.executions().await.is_empty());

    sqs.purge_queue().queue_url(&url).send().await.unwrap();
    let out = api.invoke(scheduled).await.unwrap();
    assert_eq!(
        (out["intake_backlog"].as_u64(), out["grace_seconds"].as_i64()),
        (Some(0), Some(SWEEP_GRACE_MINUTES * 60))
    );
    assert_eq!(out["recovered"][0]["flow"], "sap-orders", "{out:#}");
}

#[tokio::test]
async fn a_bad_covered_flows_list_fails_the_sweep_at_start() {
    let api = RuntimeApi::start().await.unwrap();
    let mut child = api
        .function_command(
            Path::new(env!("CARGO_BIN_EXE_sweep")),
            &[
                (
                    "APPFLOW_RETRY_STATE_MACHINE_ARN",
                    "arn:aws:states:us-east-1:123456789012:stateMachine:x",
                ),
                ("APPFLOW_RETRY_COVERED_FLOWS", "sap*x"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
}

#[tokio::test]
async fn a_missing_state_machine_arn_fails_at_start() {
    let api = RuntimeApi::start().await.unwrap();
    let mut child = api
        .function_command(
            Path::new(env!("CARGO_BIN_EXE_on-failure")),
            &[("APPFLOW_RETRY_STATE_MACHINE_ARN", "")],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
}
