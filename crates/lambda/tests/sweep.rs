//! The reconciliation sweep with the real AWS adapters, against moto (SSM,
//! Step Functions) and the AppFlow emulator (ListFlows, run records).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use appflow_emulator::{Flow, Operation, RecordOrder, Run, TriggerType};
use appflow_retry_policy::naming::{default_parameter, execution_name};
use appflow_retry_runtime::{Coverage, SWEEP_REASON_PREFIX, SweepLimits};
use chrono::{TimeDelta, Utc};
use common::{PREFIX, World, input_of};

const DEFAULT: &str =
    "backoff: {strategy: fixed, initial_delay: 1h, jitter: none}\nretry_window: 6h\nnotify: [give_up, skip]\n";
const RUN: &str = "9aa00099-9943-449a-9c7a-488dbc801242";

/// A run time the sweep may decide: older than its grace (docs/design.md
/// §5.9), a whole second.
fn past_the_grace() -> chrono::DateTime<Utc> {
    use chrono::DurationRound;
    let at = Utc::now() - TimeDelta::minutes(appflow_retry_runtime::SWEEP_GRACE_MINUTES + 10);
    at.duration_trunc(TimeDelta::seconds(1)).unwrap_or(at)
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

async fn world() -> World {
    let w = World::new().await;
    w.put_parameter(&default_parameter(PREFIX), DEFAULT).await;
    w
}

fn records_read(w: &World, flow: &str) -> usize {
    w.emulator
        .calls()
        .iter()
        .filter(|c| c.operation == Operation::DescribeFlowExecutionRecords && c.flow.as_deref() == Some(flow))
        .count()
}

#[tokio::test]
async fn a_failure_with_no_event_is_found_and_decided_and_a_late_event_starts_nothing_new() {
    let w = world().await;
    w.emulator.add_flow(Flow::on_demand("sf-accounts"));
    w.emulator.add_flow(Flow::on_demand("healthy"));
    w.emulator.add_run(
        "healthy",
        Run {
            execution_id: "ok-1".into(),
            status: "Successful".into(),
            started_at: Some(past_the_grace()),
            last_updated_at: Some(past_the_grace()),
            message: None,
        },
    );
    // The run failed; its event is lost (never handed to on-failure).
    let event = w
        .emulator
        .fail_run("sf-accounts", RUN, past_the_grace(), "Read timed out");

    let out = w
        .sweep(Coverage::all(), SweepLimits::default())
        .run(later())
        .await
        .unwrap();
    assert_eq!((out.flows_listed, out.candidates, out.examined), (2, 1, 1));
    assert_eq!(out.recovered.len(), 1);
    assert_eq!(out.recovered[0].execution, "started");
    let name = execution_name("sf-accounts", RUN);
    assert_eq!(w.executions().await, vec![name.clone()]);
    let input = input_of(&w, &name).await;
    assert_eq!(input["decision"]["action"], "retry");
    assert_eq!(input["decision"]["delay_seconds"], 3600);
    assert_eq!(input["error_message"], "Read timed out");
    assert!(
        input["decision"]["reason"]
            .as_str()
            .unwrap()
            .starts_with(SWEEP_REASON_PREFIX),
        "{input}"
    );
    assert_eq!(
        records_read(&w, "healthy"),
        0,
        "a flow whose last run succeeded costs no history read"
    );

    // The event arrives late: the same execution name, nothing new.
    let late = w.on_failure().handle(&event).await.unwrap();
    assert_eq!(late.execution, "already_exists");
    assert_eq!(w.executions().await.len(), 1);

    // The next sweep sees the execution running since the failure
    // (ListExecutions on moto): the flow is not read, nothing starts.
    let reads = records_read(&w, "sf-accounts");
    let again = w
        .sweep(Coverage::all(), SweepLimits::default())
        .run(later())
        .await
        .unwrap();
    assert_eq!((again.in_progress, again.running_listed), (1, Some(1)));
    assert_eq!((again.examined, again.recovered.len()), (0, 0));
    assert_eq!(records_read(&w, "sf-accounts"), reads);
    assert_eq!(w.executions().await.len(), 1);

    // Stopped (a person's cancel): the flow is read again and the execution
    // found (DescribeExecution), nothing new.
    let sfn = aws_sdk_sfn::Client::new(&w.moto_config);
    sfn.stop_execution()
        .execution_arn(appflow_retry_aws::execution_arn(&w.state_machine_arn, &name))
        .send()
        .await
        .unwrap();
    let stopped = w
        .sweep(Coverage::all(), SweepLimits::default())
        .run(later())
        .await
        .unwrap();
    assert_eq!(
        (stopped.in_progress, stopped.already_handled, stopped.recovered.len()),
        (0, 1, 0)
    );
    assert_eq!(w.executions().await.len(), 1);
}

#[tokio::test]
async fn an_event_handled_first_leaves_the_sweep_nothing_to_do() {
    let w = world().await;
    w.emulator.add_flow(Flow::on_demand("sf-accounts"));
    let event = w
        .emulator
        .fail_run("sf-accounts", RUN, past_the_grace(), "Read timed out");
    assert_eq!(w.on_failure().handle(&event).await.unwrap().execution, "started");
    let reads = records_read(&w, "sf-accounts");
    let out = w
        .sweep(Coverage::all(), SweepLimits::default())
        .run(later())
        .await
        .unwrap();
    // Its execution runs since the failure: the flow is not even read.
    assert_eq!((out.in_progress, out.failures_seen), (1, 0));
    assert_eq!(records_read(&w, "sf-accounts"), reads);
    assert!(out.recovered.is_empty());
    assert_eq!(w.executions().await.len(), 1);
    assert_eq!(w.emulator.count(Operation::StartFlow), 0);
}

#[tokio::test]
async fn flows_outside_covered_flows_are_untouched_and_list_flows_is_paged() {
    let w = world().await;
    // 230 flows: three ListFlows pages of at most 100.
    for i in 0..228 {
        w.emulator.add_flow(Flow::on_demand(&format!("idle-{i:03}")));
    }
    w.emulator.add_flow(Flow::on_demand("sap-orders"));
    w.emulator.add_flow(Flow::on_demand("marketo-leads"));
    w.emulator
        .add_flow(Flow::on_demand("sap-scheduled").trigger(TriggerType::Scheduled));
    w.emulator
        .fail_run("sap-orders", "run-sap", past_the_grace(), "Read timed out");
    w.emulator
        .fail_run("marketo-leads", "run-mkt", past_the_grace(), "Read timed out");
    w.emulator
        .fail_run("sap-scheduled", "run-sch", past_the_grace(), "Read timed out");

    let coverage = Coverage::parse("sap-*").unwrap();
    let out = w.sweep(coverage, SweepLimits::default()).run(later()).await.unwrap();
    assert_eq!(out.flows_listed, 231);
    assert_eq!(w.emulator.count(Operation::ListFlows), 3);
    assert_eq!(out.list_pages, 3);
    assert_eq!(w.executions().await, vec![execution_name("sap-orders", "run-sap")]);
    assert_eq!(
        records_read(&w, "marketo-leads"),
        0,
        "outside covered_flows: no history read"
    );
    assert_eq!(
        records_read(&w, "sap-scheduled"),
        0,
        "scheduled: not restartable on demand"
    );
    assert_eq!(
        w.emulator.count(Operation::DescribeFlow),
        0,
        "ListFlows alone is the cheap pass"
    );
}

#[tokio::test]
async fn a_flow_with_a_long_history_is_swept_within_its_bound() {
    let w = world().await;
    w.emulator.set_order(RecordOrder::NewestFirst);
    w.emulator.add_flow(Flow::on_demand("busy"));
    // 1,000 runs, one every 5 minutes (83 hours, far past the 6 h window),
    // the newest failed with no event.
    let now = past_the_grace();
    for i in 1..1000 {
        let at = now - TimeDelta::minutes(5 * i64::from(i));
        w.emulator.add_run(
            "busy",
            Run {
                execution_id: format!("ok-{i:04}"),
                status: "Successful".into(),
                started_at: Some(at),
                last_updated_at: Some(at + TimeDelta::seconds(30)),
                message: None,
            },
        );
    }
    w.emulator
        .fail_run("busy", RUN, now - TimeDelta::seconds(30), "Read timed out");
    // One page (of 10) does not reach the failure's 6 h window: no guess,
    // HistoryIncomplete names the failure, nothing starts.
    let limits = SweepLimits {
        max_history_pages: 1,
        ..SweepLimits::default()
    };
    let err = w.sweep(Coverage::all(), limits).run(later()).await.unwrap_err();
    assert_eq!(err.error_type(), "SweepIncomplete");
    let appflow_retry_runtime::SweepError::Incomplete(out) = &err else {
        panic!("{err}")
    };
    assert_eq!(out.histories_cut, 1, "one page is the bound: the read stopped there");
    assert_eq!(out.problems[0].error_type, "HistoryIncomplete");
    assert_eq!(records_read(&w, "busy"), 1);
    assert!(w.executions().await.is_empty());

    // The default bound: one read of the flow's history, which stops at the
    // first page wholly before the failure's window (the second), and the
    // decision made from it.
    let out = w
        .sweep(Coverage::all(), SweepLimits::default())
        .run(later())
        .await
        .unwrap();
    assert_eq!(out.histories_cut, 0);
    assert_eq!(out.recovered.len(), 1);
    assert_eq!(out.recovered[0].execution_id, RUN);
    assert_eq!(records_read(&w, "busy"), 1 + 2, "2 pages of a 10-page history, once");
}
