//! Hostile and odd events through the real on-failure handler, against moto
//! (SSM, Step Functions) and the AppFlow emulator (issue #8, items 6, 7, 8
//! and 9): odd types degrade, missing required fields are `InvalidEvent`,
//! huge messages are cut before the state machine, cancels skip without
//! reading history, gone flows skip, and long histories in any order give
//! the attempt the records say, or a named error and no execution.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

mod common;

use appflow_emulator::{Flow, Operation, RecordOrder, Run};
use appflow_retry_aws::{AwsAppFlow, SfnStateMachine, SsmParameterStore};
use appflow_retry_policy::naming::{execution_name, flow_parameter};
use appflow_retry_policy::{Action, FailureEvent, FlowPolicy, RunRecord, RunStatus, SplitMix64, decide};
use appflow_retry_runtime::OnFailure;
use appflow_retry_runtime::ports::SystemClock;
use chrono::{DateTime, TimeDelta, Utc};
use common::{PREFIX, World};
use serde_json::{Value, json};

const DEFAULT: &str =
    "max_retries: 100\nbackoff: {strategy: fixed, initial_delay: 1h, jitter: none}\nnotify: [give_up, skip]\n";
const MAX_INPUT_BYTES: usize = 32 * 1024;

async fn world() -> World {
    World::with_default(DEFAULT).await
}

/// The execution on-failure starts for (flow, execution id), if any, and its input.
async fn input_of(w: &World, flow: &str, execution_id: &str) -> Option<Value> {
    let name = execution_name(flow, execution_id);
    let arn = format!(
        "{}:{name}",
        w.state_machine_arn.replace(":stateMachine:", ":execution:")
    );
    let d = w.sfn.describe_execution().execution_arn(arn).send().await.ok()?;
    Some(serde_json::from_str(d.input.as_deref().unwrap()).unwrap())
}

/// DescribeFlowExecutionRecords calls the emulator answered for `flow`.
fn record_calls(w: &World, flow: &str) -> usize {
    w.emulator
        .calls()
        .iter()
        .filter(|c| c.operation == Operation::DescribeFlowExecutionRecords && c.flow.as_deref() == Some(flow))
        .count()
}

/// The on-failure handler with a longer history bound than the World's.
fn on_failure_reading(
    w: &World,
    pages: usize,
) -> OnFailure<SsmParameterStore, AwsAppFlow, SfnStateMachine, SystemClock> {
    let mut h = w.on_failure();
    h.max_history_pages = pages;
    h
}

#[tokio::test]
async fn odd_optional_fields_degrade_and_are_decided() {
    let w = world().await;
    let t = common::three_minutes_ago();
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 8] = [
        (
            "error-object",
            |e| e["detail"]["error"] = json!({"code": 503, "text": "Service Unavailable"}),
            r#"{"code":503,"text":"Service Unavailable"}"#,
        ),
        ("error-number", |e| e["detail"]["error"] = json!(504), "504"),
        ("error-bool", |e| e["detail"]["error"] = json!(true), "true"),
        (
            "error-array",
            |e| e["detail"]["error"] = json!(["Read timed out", 1]),
            r#"["Read timed out",1]"#,
        ),
        (
            "trigger-number",
            |e| e["detail"]["trigger-type"] = json!(7),
            "Read timed out",
        ),
        (
            "start-unparsable",
            |e| e["detail"]["start-time"] = json!("yesterday at noon"),
            "Read timed out",
        ),
        (
            "time-missing",
            |e| {
                e.as_object_mut().unwrap().remove("time");
            },
            "Read timed out",
        ),
        (
            "status-object",
            |e| e["detail"]["status"] = json!({"s": "Execution Failed"}),
            "Read timed out",
        ),
    ];
    let h = w.on_failure();
    for (id, edit, message) in cases {
        // One flow per case: each failed run is its flow's newest.
        let flow = format!("sf-{id}");
        w.emulator.add_flow(Flow::on_demand(&flow));
        let mut event = w.emulator.fail_run(&flow, id, t, "Read timed out");
        edit(&mut event);
        let out = h.handle(&event).await.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(out.execution, "started", "{id}");
        assert_eq!(out.decision.execution_id, id);
        // The record's time wins over the event's (rule 8), whatever the event said.
        assert_eq!(out.decision.failed_run_started_at, t, "{id}");
        let input = input_of(&w, &flow, id).await.unwrap();
        assert_eq!(input["error_message"], message, "{id}");
        assert_eq!(input["decision"]["action"], "retry", "{id}: {input}");
    }
    let executions = w.executions().await;
    assert_eq!(executions.len(), 8, "{executions:?}");

    // Neither a usable start-time nor a time: InvalidEvent, and nothing starts.
    let flow = "sf-no-time";
    w.emulator.add_flow(Flow::on_demand(flow));
    let mut event = w.emulator.fail_run(flow, "no-time", t, "Read timed out");
    event["detail"]["start-time"] = json!("soon");
    event["time"] = json!(1_700_000_000);
    let err = h.handle(&event).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent");
    assert!(err.to_string().contains("detail.start-time"), "{err}");
    assert!(input_of(&w, flow, "no-time").await.is_none());
}

#[tokio::test]
async fn missing_or_malformed_required_fields_are_invalid_events() {
    let w = world().await;
    let flow = "sf-bad-events";
    w.emulator.add_flow(Flow::on_demand(flow));
    let event = w
        .emulator
        .fail_run(flow, "run-1", common::three_minutes_ago(), "Read timed out");
    type Edit = fn(&mut Value);
    let cases: [(Edit, &str); 12] = [
        (
            |e| {
                e["detail"].as_object_mut().unwrap().remove("flow-name");
            },
            "detail.flow-name",
        ),
        (
            |e| {
                e["detail"].as_object_mut().unwrap().remove("execution-id");
            },
            "detail.execution-id",
        ),
        (
            |e| {
                e.as_object_mut().unwrap().remove("detail");
            },
            "detail",
        ),
        (
            |e| {
                e.as_object_mut().unwrap().remove("source");
            },
            "source",
        ),
        (|e| e["detail"] = json!("sf-bad-events"), "detail"),
        (|e| e["detail"]["flow-name"] = json!(42), "detail.flow-name"),
        (
            |e| e["detail"]["execution-id"] = json!(["run-1"]),
            "detail.execution-id",
        ),
        (|e| e["detail"]["flow-name"] = json!("   "), "detail.flow-name"),
        (
            |e| e["detail"]["execution-id"] = json!("r".repeat(257)),
            "detail.execution-id",
        ),
        (|e| e["source"] = json!("aws.s3"), "source"),
        (|e| e["detail-type"] = json!(false), "detail-type"),
        (
            |e| e["detail"]["status"] = json!("Execution Successful"),
            "detail.status",
        ),
    ];
    let h = w.on_failure();
    for (edit, field) in cases {
        let mut e = event.clone();
        edit(&mut e);
        let err = h.handle(&e).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidEvent", "{field}: {err}");
        assert!(err.to_string().contains(&format!("`{field}`")), "{field}: {err}");
    }
    for not_an_event in [json!([event.clone()]), json!(null), json!("event"), json!(12)] {
        let err = h.handle(&not_an_event).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidEvent");
    }
    // Nothing was read and nothing started: the event goes back to Lambda.
    assert_eq!(w.emulator.calls().len(), 0);
    assert!(w.executions().await.is_empty());
}

#[tokio::test]
async fn a_megabyte_message_is_cut_before_the_state_machine() {
    let w = world().await;
    let t = common::three_minutes_ago();
    let huge = format!("Read timed out {}", "é".repeat(500_000));
    let full = huge.len();
    assert!(full > 1_000_000);
    // In the event's `error`, and (with no `error` in the event) only in
    // the run record.
    for flow in ["sf-huge-event", "sf-huge-record"] {
        w.emulator.add_flow(Flow::on_demand(flow));
    }
    let in_event = w.emulator.fail_run("sf-huge-event", "in-event", t, &huge);
    let mut in_record = w.emulator.fail_run("sf-huge-record", "in-record", t, &huge);
    in_record["detail"].as_object_mut().unwrap().remove("error");
    let h = w.on_failure();
    for (flow, id, event) in [
        ("sf-huge-event", "in-event", in_event),
        ("sf-huge-record", "in-record", in_record),
    ] {
        let out = h.handle(&event).await.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(out.decision.error_class.as_deref(), Some("transient"), "{id}");
        let name = execution_name(flow, id);
        let arn = format!(
            "{}:{name}",
            w.state_machine_arn.replace(":stateMachine:", ":execution:")
        );
        let d = w.sfn.describe_execution().execution_arn(arn).send().await.unwrap();
        let raw = d.input.unwrap();
        assert!(raw.len() < MAX_INPUT_BYTES, "{id}: input is {} bytes", raw.len());
        let input: Value = serde_json::from_str(&raw).unwrap();
        let message = input["error_message"].as_str().unwrap();
        assert!(message.len() <= appflow_retry_policy::MAX_MESSAGE_BYTES, "{id}");
        assert!(message.starts_with("Read timed out éé"), "{id}");
        assert!(
            message.ends_with(&format!("[truncated: {full} bytes in all]")),
            "{id}: {}",
            &message[message.len() - 60..]
        );
        assert!(out.decision.reason.len() < 1024, "{id}");
    }
    assert_eq!(w.executions().await.len(), 2);
}

#[tokio::test]
async fn cancels_skip_and_unfinished_runs_wait() {
    let w = world().await;
    let flow = "sf-cancel";
    w.emulator.add_flow(Flow::on_demand(flow));
    let t = common::three_minutes_ago();
    let h = w.on_failure();

    // Cancelled in the event: skipped before any history is read.
    for (i, status) in ["Execution Canceled", "Execution Cancelled", "CANCELED by user"]
        .into_iter()
        .enumerate()
    {
        let id = format!("cancel-{i}");
        let mut event = w
            .emulator
            .fail_run(flow, &id, t - TimeDelta::hours(i as i64), "stopped");
        event["detail"]["status"] = json!(status);
        let out = h.handle(&event).await.unwrap();
        assert_eq!(out.decision.action, Action::Skip, "{status}");
        assert!(out.decision.reason.contains("cancelled"), "{}", out.decision.reason);
        assert_eq!((out.decision.attempt, out.decision.notify), (None, true));
        assert!(input_of(&w, flow, &id).await.is_some(), "the skip is recorded");
    }
    assert_eq!(record_calls(&w, flow), 0, "no history read for a cancel");

    // Cancelled in the record (the event said failed): skipped after reading it.
    let other = "sf-cancel-record";
    w.emulator.add_flow(Flow::on_demand(other));
    for (id, status, reason) in [
        ("rec-canceled", "Canceled", "stopped by a person"),
        ("rec-cancel-started", "CancelStarted", "stopped by a person"),
        ("rec-successful", "Successful", "says it succeeded"),
    ] {
        let event = w.emulator.fail_run(other, id, t - TimeDelta::hours(2), "x");
        let mut f = w.emulator.flow(other).unwrap();
        f.history.iter_mut().find(|r| r.execution_id == id).unwrap().status = status.into();
        w.emulator.add_flow(f);
        let out = h.handle(&event).await.unwrap();
        assert_eq!(out.decision.action, Action::Skip, "{id}");
        assert!(out.decision.reason.contains(reason), "{id}: {}", out.decision.reason);
    }

    // Not final yet: a named error, nothing started; once final, decided.
    let pending = "sf-pending";
    w.emulator.add_flow(Flow::on_demand(pending));
    for (i, status) in ["InProgress", "Queued"].into_iter().enumerate() {
        let id = format!("pending-{i}");
        let event = w
            .emulator
            .fail_run(pending, &id, t - TimeDelta::hours(3 * i as i64), "x");
        let mut f = w.emulator.flow(pending).unwrap();
        f.history.iter_mut().find(|r| r.execution_id == id).unwrap().status = status.into();
        w.emulator.add_flow(f);
        let err = h.handle(&event).await.unwrap_err();
        assert_eq!(err.error_type(), "FailedRunNotFinal", "{status}");
        assert!(input_of(&w, pending, &id).await.is_none(), "{status}: nothing started");
        // The run ends as failed; Lambda's retry of the same event decides it.
        let mut f = w.emulator.flow(pending).unwrap();
        f.history.iter_mut().find(|r| r.execution_id == id).unwrap().status = "Error".into();
        w.emulator.add_flow(f);
        let out = h.handle(&event).await.unwrap();
        assert_eq!(out.execution, "started");
        assert!(input_of(&w, pending, &id).await.is_some());
    }
}

#[tokio::test]
async fn unknown_and_deleted_flows_skip_as_gone() {
    let w = world().await;
    let t = common::three_minutes_ago();
    // Built from a real event of a flow that is then removed, and of one
    // that never existed in the emulator.
    w.emulator.add_flow(Flow::on_demand("sf-deleted"));
    let deleted = w.emulator.fail_run("sf-deleted", "run-d", t, "Read timed out");
    w.emulator.delete_flow("sf-deleted");
    let mut unknown = deleted.clone();
    unknown["detail"]["flow-name"] = json!("sf-never-existed");
    // A flow whose policy does not notify skips.
    w.put_parameter(
        &flow_parameter(PREFIX, "sf-quiet"),
        "flow: sf-quiet\nnotify: [give_up]\n",
    )
    .await;
    let mut quiet = deleted.clone();
    quiet["detail"]["flow-name"] = json!("sf-quiet");

    let h = w.on_failure();
    for (event, flow, notify) in [
        (deleted, "sf-deleted", true),
        (unknown, "sf-never-existed", true),
        (quiet, "sf-quiet", false),
    ] {
        let out = h.handle(&event).await.unwrap_or_else(|e| panic!("{flow}: {e}"));
        assert_eq!(out.decision.action, Action::Skip, "{flow}");
        assert!(
            out.decision.reason.contains("no longer exists"),
            "{}",
            out.decision.reason
        );
        assert_eq!(out.decision.notify, notify, "{flow}");
        assert_eq!(record_calls(&w, flow), 1, "{flow}: asked once, answered not found");
        let input = input_of(&w, flow, "run-d").await.unwrap();
        assert_eq!(input["decision"]["action"], "skip");
        assert_eq!(input["decision"]["notify"], notify);
    }
}

/// Builds a flow's history: the failed run at `t`, `streak` failures every
/// 10 minutes before it, a success before those, `filler` older runs a
/// minute apart, `ties` runs at exactly `t` (ignored by rule 8) and two runs
/// without any time (ignored too). Returns the event of the failed run.
fn long_history(w: &World, flow: &str, t: DateTime<Utc>, streak: i64, filler: i64, ties: usize) -> Value {
    w.emulator.add_flow(Flow::on_demand(flow));
    let run = |id: String, status: &str, at: Option<DateTime<Utc>>| Run {
        execution_id: id,
        status: status.into(),
        started_at: at,
        last_updated_at: at.map(|a| a + TimeDelta::seconds(30)),
        message: Some("Read timed out".into()),
    };
    for i in 0..ties {
        w.emulator.add_run(flow, run(format!("tie-{i}"), "Successful", Some(t)));
    }
    let event = w.emulator.fail_run(flow, "failed-run", t, "Read timed out");
    for i in 1..=streak {
        w.emulator.add_run(
            flow,
            run(format!("streak-{i}"), "Error", Some(t - TimeDelta::minutes(10 * i))),
        );
    }
    let before = t - TimeDelta::minutes(10 * (streak + 1));
    w.emulator.add_run(flow, run("ok".into(), "Successful", Some(before)));
    for j in 0..filler {
        let status = ["Error", "Successful", "Error", "Canceled"][(j % 4) as usize];
        w.emulator.add_run(
            flow,
            run(format!("old-{j}"), status, Some(before - TimeDelta::minutes(1 + j))),
        );
    }
    for k in 0..2 {
        w.emulator.add_run(flow, run(format!("timeless-{k}"), "Error", None));
    }
    event
}

/// The decision the pure function makes on the flow's whole history.
fn expected_attempt(w: &World, flow: &str, event: &Value) -> Option<u32> {
    let records: Vec<RunRecord> = w
        .emulator
        .flow(flow)
        .unwrap()
        .history
        .into_iter()
        .map(|r| RunRecord {
            execution_id: r.execution_id,
            status: RunStatus::parse(&r.status),
            started_at: r.started_at,
            last_updated_at: r.last_updated_at,
            message: r.message,
        })
        .collect();
    let policy = FlowPolicy::from_texts(flow, Some(("default", DEFAULT)), None);
    let e = FailureEvent::from_json(event).unwrap();
    decide(&e, &records, &policy, Utc::now(), &mut SplitMix64::new(1))
        .unwrap()
        .attempt
}

#[tokio::test]
async fn long_histories_in_every_order_give_the_attempt_the_records_say() {
    let w = world().await;
    let t = common::three_minutes_ago();
    let h = on_failure_reading(&w, appflow_retry_runtime::history::DEFAULT_MAX_PAGES);
    let scenarios = [
        (RecordOrder::NewestFirst, 3, 320, 0),
        (RecordOrder::NewestFirst, 7, 350, 2),
        (RecordOrder::OldestFirst, 7, 320, 0),
        (RecordOrder::OldestFirst, 12, 390, 1),
        (RecordOrder::Shuffled(1), 3, 330, 0),
        (RecordOrder::Shuffled(2), 7, 350, 3),
        (RecordOrder::Shuffled(99), 12, 410, 1),
    ];
    for (i, (order, streak, filler, ties)) in scenarios.into_iter().enumerate() {
        let flow = format!("sf-long-{i}");
        let event = long_history(&w, &flow, t, streak, filler, ties);
        let total = w.emulator.flow(&flow).unwrap().history.len();
        assert!(total > 300);
        w.emulator.set_order(order);
        let out = h.handle(&event).await.unwrap_or_else(|e| panic!("{order:?}: {e}"));
        let attempt = u32::try_from(streak).unwrap() + 1;
        assert_eq!(out.decision.attempt, Some(attempt), "{order:?} streak {streak}");
        assert_eq!(expected_attempt(&w, &flow, &event), Some(attempt));
        assert_eq!(out.decision.action, Action::Retry, "{order:?}: {}", out.decision.reason);
        assert_eq!(out.decision.failed_run_started_at, t);
        let pages = record_calls(&w, &flow);
        assert!(pages >= 1 && pages <= total.div_ceil(100), "{order:?}: {pages} pages");
        if !matches!(order, RecordOrder::NewestFirst) {
            // No evidence of newest-first order: the whole history is read.
            assert_eq!(pages, total.div_ceil(100), "{order:?}");
        }
        let input = input_of(&w, &flow, "failed-run").await.unwrap();
        assert_eq!(input["decision"]["attempt"], attempt);
    }
}

#[tokio::test]
async fn a_failed_run_missing_from_a_long_history_is_not_decided() {
    let w = world().await;
    let t = common::three_minutes_ago();
    let h = on_failure_reading(&w, appflow_retry_runtime::history::DEFAULT_MAX_PAGES);
    for (i, order) in [
        RecordOrder::NewestFirst,
        RecordOrder::OldestFirst,
        RecordOrder::Shuffled(5),
    ]
    .into_iter()
    .enumerate()
    {
        let flow = format!("sf-missing-{i}");
        let mut event = long_history(&w, &flow, t - TimeDelta::minutes(1), 4, 330, 0);
        // An event for a run AppFlow has not listed (yet).
        event["detail"]["execution-id"] = json!("not-listed");
        w.emulator.set_order(order);
        let err = h.handle(&event).await.unwrap_err();
        assert_eq!(err.error_type(), "FailedRunNotFound", "{order:?}: {err}");
        let total = w.emulator.flow(&flow).unwrap().history.len();
        assert_eq!(
            record_calls(&w, &flow),
            total.div_ceil(100),
            "{order:?}: read to the end"
        );
        assert!(input_of(&w, &flow, "not-listed").await.is_none(), "{order:?}");
    }
    // With the World's bound of 3 pages, a failed run on page 4 is beyond it.
    let flow = "sf-beyond";
    let event = long_history(&w, flow, t, 4, 330, 0);
    w.emulator.set_order(RecordOrder::OldestFirst);
    let err = w.on_failure().handle(&event).await.unwrap_err();
    assert_eq!(err.error_type(), "HistoryIncomplete", "{err}");
    assert_eq!(record_calls(&w, flow), 3);
    assert!(input_of(&w, flow, "failed-run").await.is_none());
    assert!(w.executions().await.is_empty(), "no execution for any named error");
}

/// Flow names no AppFlow flow has (the event only bounds their length):
/// each is decided under its own parameter name, never another's, and its
/// execution name stays within Step Functions' alphabet and 80 characters.
#[tokio::test]
async fn hostile_flow_names_are_decided_under_their_own_names() {
    let w = world().await;
    let t = common::three_minutes_ago();
    // A parameter a path-like name must not reach.
    w.put_parameter(&flow_parameter(PREFIX, "default"), "flow: default\nenabled: false\n")
        .await;
    let h = w.on_failure();
    for flow in [
        "é".repeat(256),
        "../../default".to_owned(),
        "../default".to_owned(),
        "a/b/c".to_owned(),
        "\u{202e}\u{200b}flow\u{0}".to_owned(),
        format!("a{}", "@".repeat(255)),
    ] {
        w.emulator.add_flow(Flow::on_demand(&flow));
        let event = w.emulator.fail_run(&flow, "run-h", t, "Read timed out");
        let out = h.handle(&event).await.unwrap_or_else(|e| panic!("{flow:?}: {e}"));
        assert_eq!(out.decision.flow, flow);
        assert_eq!(
            (
                out.decision.action,
                out.decision.policy.as_str(),
                out.decision.max_retries
            ),
            (Action::Retry, "default", 100),
            "{flow:?}: {}",
            out.decision.reason
        );
        let name = &out.execution_name;
        assert!(name.len() <= 80, "{name}");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{name}"
        );
        assert!(input_of(&w, &flow, "run-h").await.is_some(), "{flow:?}");
    }
    // Whitespace around the name is not part of it.
    w.emulator.add_flow(Flow::on_demand("sf-padded"));
    let mut event = w.emulator.fail_run("sf-padded", "run-p", t, "Read timed out");
    event["detail"]["flow-name"] = json!("  sf-padded\t");
    let out = h.handle(&event).await.unwrap();
    assert_eq!(
        (out.decision.flow.as_str(), out.decision.action),
        ("sf-padded", Action::Retry)
    );
    assert_eq!(w.executions().await.len(), 7);
}
