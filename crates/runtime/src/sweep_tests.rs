//! The reconciliation sweep on in-memory ports.

use std::time::{Duration, Instant};

use appflow_retry_policy::naming::execution_name;
use appflow_retry_policy::{Action, RunRecord, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::SWEEP_REASON_PREFIX;
use crate::fakes::{FixedClock, Flows, Machine, PREFIX, Ports, Store, record};
use crate::ports::PortError;
use crate::sweep::{Coverage, Sweep, SweepError, SweepLimits};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

// The handlers' ports over flows listed `page_size` to a page.
crate::fakes::test_world!();

impl World {
    fn new(page_size: usize) -> World {
        let flows = Flows {
            page_size,
            ..Flows::default()
        };
        let mut w = Ports::new(
            flows,
            t0() + TimeDelta::minutes(30),
            "backoff: {jitter: none}\nretry_window: 6h\n",
        );
        w.history_pages = 20;
        World(w)
    }

    fn sweep(&self, coverage: Coverage, limits: SweepLimits) -> Sweep<&Store, &Flows, &Machine, &FixedClock> {
        Sweep {
            on_failure: self.on_failure(),
            coverage,
            limits,
        }
    }

    fn sweep_all(&self) -> Sweep<&Store, &Flows, &Machine, &FixedClock> {
        self.sweep(Coverage::all(), SweepLimits::default())
    }

    fn executions(&self) -> Vec<String> {
        self.machine
            .executions
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn reads(&self) -> Vec<String> {
        self.flows.records_read.lock().unwrap().clone()
    }
}

fn failed(id: &str, at: DateTime<Utc>, message: &str) -> RunRecord {
    RunRecord {
        message: Some(message.into()),
        ..record(id, RunStatus::Error, at)
    }
}

fn event(flow: &str, id: &str) -> Value {
    json!({
        "version": "0", "id": "e", "source": "aws.appflow", "account": "123456789012",
        "detail-type": "AppFlow End Flow Run Report", "time": "2026-11-29T09:02:00Z",
        "region": "us-east-1", "resources": ["x"],
        "detail": {
            "flow-name": flow, "execution-id": id, "trigger-type": "ONDEMAND",
            "start-time": "2026-11-29T09:00:00.000Z[UTC]", "status": "Execution Failed",
            "error": "Read timed out"
        }
    })
}

#[tokio::test]
async fn a_failure_with_no_event_is_found_decided_and_started_once() {
    let w = World::new(100);
    w.flows.add(
        "sf-accounts",
        "OnDemand",
        vec![
            record("ok-1", RunStatus::Successful, t0() - TimeDelta::hours(1)),
            failed("run-1", t0(), "Read timed out"),
        ],
    );
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.candidates, out.examined, out.failures_seen), (1, 1, 1));
    assert_eq!(out.recovered.len(), 1);
    assert_eq!(out.recovered[0].action, "retry");
    assert_eq!(out.recovered[0].execution, "started");
    let name = execution_name("sf-accounts", "run-1");
    assert_eq!(w.executions(), vec![name.clone()]);
    let input: Value = serde_json::from_str(&w.machine.executions.lock().unwrap()[0].1).unwrap();
    assert_eq!(input["decision"]["action"], "retry");
    assert_eq!(input["error_message"], "Read timed out");
    let reason = input["decision"]["reason"].as_str().unwrap();
    assert!(reason.starts_with(SWEEP_REASON_PREFIX), "{reason}");
    assert_eq!(input["decision"]["attempt"], 1);

    // The restart takes the sweep's decision as on-failure's own.
    let decision: appflow_retry_policy::Decision = serde_json::from_value(input["decision"].clone()).unwrap();
    let restart = w.restart();
    w.clock.advance(TimeDelta::seconds(
        i64::try_from(decision.delay_seconds.unwrap()).unwrap(),
    ));
    let started_at = w.clock.0.lock().unwrap().to_owned() - TimeDelta::seconds(1);
    let restarted = restart
        .handle(&crate::RestartInput::for_execution(&decision, started_at).to_json())
        .await
        .unwrap();
    assert_eq!(restarted.outcome.as_str(), "restarted", "{}", restarted.reason);
    w.flows.started.lock().unwrap().clear();

    // The next sweep finds it handled: one DescribeExecution, nothing new.
    let before = *w.machine.describes.lock().unwrap();
    let again = w.sweep_all().run(later()).await.unwrap();
    assert!(again.recovered.is_empty());
    assert_eq!(again.already_handled, 1);
    assert_eq!(*w.machine.describes.lock().unwrap(), before + 1);
    assert_eq!(w.executions().len(), 1);
}

#[tokio::test]
async fn an_event_after_the_sweep_starts_nothing_new_and_one_before_it_is_left_alone() {
    let w = World::new(100);
    w.flows
        .add("late", "OnDemand", vec![failed("run-late", t0(), "Read timed out")]);
    w.flows
        .add("early", "OnDemand", vec![failed("run-early", t0(), "Read timed out")]);
    // The event for `early` came first.
    let first = w.on_failure().handle(&event("early", "run-early")).await.unwrap();
    assert_eq!(first.execution, "started");

    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.already_handled, 1);
    assert_eq!(out.recovered.len(), 1);
    assert_eq!(out.recovered[0].flow, "late");

    // The event for `late` arrives after the sweep: the same name, no second execution.
    let late = w.on_failure().handle(&event("late", "run-late")).await.unwrap();
    assert_eq!(late.execution, "already_exists");
    assert_eq!(w.executions().len(), 2);
    let early_input: Value = serde_json::from_str(&w.machine.executions.lock().unwrap()[0].1).unwrap();
    assert!(
        !early_input["decision"]["reason"]
            .as_str()
            .unwrap()
            .starts_with(SWEEP_REASON_PREFIX),
        "an event's decision says nothing of the sweep"
    );
}

#[tokio::test]
async fn only_covered_on_demand_flows_whose_last_run_failed_in_the_window_are_read() {
    let w = World::new(100);
    let error = |id: &str| vec![failed(id, t0(), "Read timed out")];
    w.flows.add("sap-orders", "OnDemand", error("a"));
    w.flows.add("salesforce-accounts", "OnDemand", error("b"));
    w.flows.add("marketo-leads", "OnDemand", error("c"));
    w.flows.add("sap-scheduled", "Scheduled", error("d"));
    w.flows.add(
        "sap-recovered",
        "OnDemand",
        vec![
            failed("e", t0() - TimeDelta::minutes(10), "x"),
            record("f", RunStatus::Successful, t0()),
        ],
    );
    w.flows.add(
        "sap-old",
        "OnDemand",
        vec![failed("g", t0() - TimeDelta::hours(7), "Read timed out")],
    );
    w.flows.add("sap-never-ran", "OnDemand", vec![]);
    let coverage = Coverage::parse("sap-*, salesforce-accounts").unwrap();
    let out = w.sweep(coverage, SweepLimits::default()).run(later()).await.unwrap();
    assert_eq!(out.flows_listed, 7);
    assert_eq!((out.candidates, out.outside_window, out.examined), (3, 1, 2));
    let mut reads = w.reads();
    reads.sort();
    reads.dedup();
    assert_eq!(reads, vec!["salesforce-accounts", "sap-orders"]);
    let mut started = w.executions();
    started.sort();
    let mut expected = vec![
        execution_name("salesforce-accounts", "b"),
        execution_name("sap-orders", "a"),
    ];
    expected.sort();
    assert_eq!(started, expected);
}

#[tokio::test]
async fn every_unhandled_failure_in_the_window_is_decided_by_the_shared_rules() {
    let w = World::new(100);
    // Two failures in a row, neither reported: the older is superseded by
    // the newer (rule 6: skip), the newer is the second of the streak.
    w.flows.add(
        "sf-accounts",
        "OnDemand",
        vec![
            failed("run-1", t0() - TimeDelta::minutes(20), "Read timed out"),
            failed("run-2", t0(), "Read timed out"),
        ],
    );
    let out = w.sweep_all().run(later()).await.unwrap();
    let actions: Vec<(&str, &str)> = out
        .recovered
        .iter()
        .map(|r| (r.execution_id.as_str(), r.action.as_str()))
        .collect();
    assert_eq!(actions, vec![("run-2", "retry"), ("run-1", "skip")]);
    let inputs = w.machine.executions.lock().unwrap().clone();
    let newest: Value = serde_json::from_str(&inputs[0].1).unwrap();
    assert_eq!(newest["decision"]["attempt"], 2);
}

#[tokio::test]
async fn the_flow_bound_leaves_the_rest_for_the_next_sweep_and_no_flow_starves() {
    let w = World::new(100);
    for i in 0..5 {
        w.flows.add(
            &format!("flow-{i}"),
            "OnDemand",
            vec![failed(
                &format!("run-{i}"),
                t0() + TimeDelta::minutes(i),
                "Read timed out",
            )],
        );
    }
    let limits = SweepLimits {
        max_flows: 2,
        ..SweepLimits::default()
    };
    let out = w.sweep(Coverage::all(), limits).run(later()).await.unwrap();
    assert_eq!((out.examined, out.left_for_next_run), (2, 3));
    assert_eq!(out.stopped_by, Some("max_flows"));
    assert_eq!(w.executions().len(), 2);
    // Later sweeps (15 minutes apart) reach every flow, handled ones or not.
    for _ in 0..12 {
        w.clock.advance(TimeDelta::minutes(15));
        let _ = w.sweep(Coverage::all(), limits).run(later()).await.unwrap();
    }
    assert_eq!(w.executions().len(), 5, "every failure is decided in the end");
}

#[tokio::test]
async fn a_past_deadline_examines_nothing_and_says_so() {
    let w = World::new(100);
    w.flows.add("a", "OnDemand", vec![failed("run-a", t0(), "x")]);
    w.flows.add("b", "OnDemand", vec![failed("run-b", t0(), "x")]);
    let out = w.sweep_all().run(Instant::now()).await.unwrap();
    assert_eq!((out.examined, out.left_for_next_run), (0, 2));
    assert_eq!(out.stopped_by, Some("deadline"));
    assert!(w.reads().is_empty());
    assert!(w.executions().is_empty());
}

#[tokio::test]
async fn a_long_history_is_read_once_within_the_page_bound() {
    let w = World::new(10);
    // 95 runs every 10 minutes, oldest first; the newest failed unreported.
    let mut records: Vec<RunRecord> = (0..94)
        .map(|i| {
            record(
                &format!("ok-{i}"),
                RunStatus::Successful,
                t0() - TimeDelta::minutes(10 * (94 - i)),
            )
        })
        .collect();
    records.push(failed("run-new", t0(), "Read timed out"));
    records.reverse(); // Newest first, as AWS evidently lists them.
    w.flows.add("long", "OnDemand", records);

    // Three pages (of 10) do not reach the failure's 6 h window: no guess,
    // the failure is named HistoryIncomplete, as the event path would.
    let limits = |pages| SweepLimits {
        max_history_pages: pages,
        ..SweepLimits::default()
    };
    let err = w.sweep(Coverage::all(), limits(3)).run(later()).await.unwrap_err();
    let SweepError::Incomplete(out) = &err else {
        panic!("{err}")
    };
    assert_eq!(out.histories_cut, 1);
    assert!(out.recovered.is_empty());
    assert_eq!(out.problems[0].error_type, "HistoryIncomplete");
    assert_eq!(out.problems[0].execution_id.as_deref(), Some("run-new"));
    assert_eq!(w.flows.record_calls(), 3);
    assert!(w.executions().is_empty());

    // Twenty: one read, stopped at the first page wholly before the
    // failure's window (5 pages), and the decision made from it.
    let out = w.sweep(Coverage::all(), limits(20)).run(later()).await.unwrap();
    assert_eq!(out.histories_cut, 0);
    assert_eq!(out.recovered.len(), 1);
    assert_eq!(out.recovered[0].execution_id, "run-new");
    assert_eq!(w.flows.record_calls(), 3 + 5);
}

/// A flow with `n` failed runs a minute apart from t0 back (none reported), and then 500
/// successful ones two minutes apart further back, newest first.
fn many_failures(w: &World, flow: &str, n: i64) {
    let mut records: Vec<RunRecord> = (0..n)
        .map(|i| failed(&format!("run-{i:03}"), t0() - TimeDelta::minutes(i), "Read timed out"))
        .collect();
    records.extend((0..500).map(|i| {
        record(
            &format!("ok-{i:03}"),
            RunStatus::Successful,
            t0() - TimeDelta::minutes(n + 2 * i),
        )
    }));
    w.flows.add(flow, "OnDemand", records);
}

#[tokio::test]
async fn a_flow_with_hundreds_of_failures_is_read_once() {
    let w = World::new(100);
    many_failures(&w, "busy", 300);
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.failures_seen, 300);
    assert_eq!(out.recovered.len(), 300);
    assert_eq!(w.executions().len(), 300);
    // One read: the oldest failure (t0 - 299 min) less its 6 h window is
    // t0 - 659 min; page 6 (t0 - 700 .. t0 - 898 min) is wholly before it,
    // and the last 2 pages are never read. Reading per failure took 1665.
    assert_eq!(w.flows.record_calls(), 6);
    // Decided by the shared rules: the newest ends a 300-failure streak
    // (attempts used up), the older ones are superseded.
    assert_eq!(out.recovered[0].execution_id, "run-000");
    assert_eq!(out.recovered[0].action, "give_up");
    assert!(out.recovered[1..].iter().all(|r| r.action == "skip"));
}

#[tokio::test]
async fn a_deadline_inside_a_flow_stops_there_and_the_next_sweep_decides_the_rest() {
    let w = World::new(100);
    many_failures(&w, "busy", 300);
    w.flows.add(
        "other",
        "OnDemand",
        vec![failed("run-other", t0() - TimeDelta::hours(1), "x")],
    );
    // The time runs out once 100 executions are started.
    let out = w.sweep_all().run_until(|| w.executions().len() >= 100).await.unwrap();
    assert_eq!(out.stopped_by, Some("deadline"));
    assert_eq!(out.examined, 1);
    assert_eq!((out.failures_seen, out.recovered.len()), (100, 100));
    assert_eq!(out.failures_left_for_next_run, 200);
    assert_eq!(out.left_for_next_run, 1, "the other flow is not read");
    assert_eq!(w.reads().iter().filter(|f| *f == "other").count(), 0);
    let decided: Vec<String> = out.recovered.iter().map(|r| r.execution_id.clone()).collect();
    assert_eq!(decided.first().map(String::as_str), Some("run-000"));
    assert_eq!(decided.last().map(String::as_str), Some("run-099"));

    let next = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(next.stopped_by, None);
    assert_eq!((next.already_handled, next.recovered.len()), (100, 201));
    let mut names = w.executions();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 301, "every failure decided once");
}

#[tokio::test]
async fn a_record_the_event_path_would_refuse_is_reported_not_decided() {
    let w = World::new(100);
    let long = "x".repeat(257);
    w.flows.add(
        "odd",
        "OnDemand",
        vec![
            failed("run-ok", t0() - TimeDelta::minutes(20), "x"),
            failed("", t0() - TimeDelta::minutes(10), "x"),
            failed(&long, t0(), "x"),
        ],
    );
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.failures_seen, 3);
    let refused: Vec<(&str, &str, usize)> = out
        .refused
        .iter()
        .map(|r| (r.flow.as_str(), r.field.as_str(), r.execution_id.chars().count()))
        .collect();
    assert_eq!(
        refused,
        vec![("odd", "detail.execution-id", 256), ("odd", "detail.execution-id", 0)]
    );
    assert_eq!(out.refused[0].problem, "is 257 characters; AppFlow's are at most 256");
    assert_eq!(out.refused[1].problem, "is empty");
    assert!(
        out.problems.is_empty(),
        "no SweepIncomplete: no later sweep could decide them"
    );
    assert_eq!(w.executions(), vec![execution_name("odd", "run-ok")]);
    // The event path refuses the same ids with the same words.
    for (id, problem) in [
        ("", "is empty"),
        (long.as_str(), "is 257 characters; AppFlow's are at most 256"),
    ] {
        let mut e = event("odd", "run-ok");
        e["detail"]["execution-id"] = json!(id);
        let err = w.on_failure().handle(&e).await.unwrap_err();
        assert_eq!(err.to_string(), format!("event field `detail.execution-id`: {problem}"));
    }
}

#[tokio::test]
async fn errors_are_named_and_the_other_flows_are_still_swept() {
    let w = World::new(100);
    w.flows.add("a", "OnDemand", vec![failed("run-a", t0(), "x")]);
    *w.flows.fail.lock().unwrap() = Some(PortError::Unavailable("down".into()));
    let err = w.sweep_all().run(later()).await.unwrap_err();
    assert_eq!(err.error_type(), "ListFlowsUnavailable");
    *w.flows.fail.lock().unwrap() = None;

    w.flows.add("b", "OnDemand", vec![failed("run-b", t0(), "x")]);
    *w.machine.fail.lock().unwrap() = Some(PortError::Throttled("slow down".into()));
    let err = w.sweep_all().run(later()).await.unwrap_err();
    assert_eq!(err.error_type(), "SweepIncomplete");
    let SweepError::Incomplete(out) = &err else {
        panic!("{err}")
    };
    assert_eq!(out.problems.len(), 2, "both flows were tried");
    assert!(out.problems.iter().all(|p| p.error_type == "StateMachineUnavailable"));
    assert!(err.to_string().contains("the next sweep tries again"), "{err}");
}

#[tokio::test]
async fn a_disabled_flow_is_decided_as_on_failure_would() {
    let w = World::new(100);
    w.store.put(
        &appflow_retry_policy::naming::flow_parameter(PREFIX, "off"),
        "enabled: false\n",
    );
    w.flows.add("off", "OnDemand", vec![failed("run-off", t0(), "x")]);
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.recovered.len(), 1);
    assert_eq!(out.recovered[0].action, Action::Skip.as_str());
}

#[test]
fn coverage_reads_names_and_prefixes() {
    let c = Coverage::parse(" sap-*, salesforce-accounts ,,").unwrap();
    assert!(c.covers("sap-orders"));
    assert!(c.covers("salesforce-accounts"));
    assert!(!c.covers("salesforce-accounts-2"));
    assert!(!c.covers("marketo"));
    assert!(Coverage::parse("").unwrap().covers("anything"));
    let err = Coverage::parse("a*b").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"covered flow "a*b": '*' may only end a prefix ("sap-*")"#
    );
}
