//! The reconciliation sweep on in-memory ports.

mod redteam;

use std::time::{Duration, Instant};

use appflow_retry_policy::naming::execution_name;
use appflow_retry_policy::{Action, RunRecord, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::SWEEP_REASON_PREFIX;
use crate::fakes::{FixedClock, Flows, Machine, PREFIX, Ports, Store, record};
use crate::ports::PortError;
use crate::sweep::{
    Coverage, IntakeBacklog, MEMORY_TTL_MINUTES, SWEEP_BACKLOG_GRACE_MINUTES, SWEEP_GRACE_MINUTES, Sweep, SweepError,
    SweepLimits,
};

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
        Sweep::new(self.on_failure(), coverage, limits)
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
    // The time runs out once 100 executions are started. (A flow not reached
    // at all is counted left: a_past_deadline_examines_nothing_and_says_so.)
    let out = w.sweep_all().run_until(|| w.executions().len() >= 100).await.unwrap();
    assert_eq!(out.stopped_by, Some("deadline"));
    assert_eq!(out.examined, 1);
    assert_eq!((out.failures_seen, out.recovered.len()), (100, 100));
    assert_eq!(out.failures_left_for_next_run, 200);
    let decided: Vec<String> = out.recovered.iter().map(|r| r.execution_id.clone()).collect();
    assert_eq!(decided.first().map(String::as_str), Some("run-000"));
    assert_eq!(decided.last().map(String::as_str), Some("run-099"));

    let next = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(next.stopped_by, None);
    assert_eq!((next.already_handled, next.recovered.len()), (100, 200));
    let mut names = w.executions();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 300, "every failure decided once");
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

// The grace (docs/design.md §5.9): a failure is the event path's alone for
// a while (late events, Lambda's retries, a queued intake).

#[tokio::test]
async fn a_flow_whose_last_run_is_within_the_grace_is_not_read_until_it_passes() {
    let w = World::new(100);
    // The clock is t0 + 30 min: a failure 5 minutes old.
    let now = t0() + TimeDelta::minutes(30);
    w.flows.add(
        "fresh",
        "OnDemand",
        vec![
            failed("run-old", now - TimeDelta::hours(2), "x"),
            failed("run-new", now - TimeDelta::minutes(5), "x"),
        ],
    );
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.candidates, out.within_grace, out.examined), (1, 1, 0));
    assert_eq!(out.grace_seconds, SWEEP_GRACE_MINUTES * 60);
    assert!(w.reads().is_empty(), "no history read for a fresh failure");
    assert!(w.executions().is_empty());

    // The grace passed and no event came: the sweep decides both.
    w.clock.advance(TimeDelta::minutes(6));
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.within_grace, out.examined, out.recovered.len()), (0, 1, 2));
    assert_eq!(out.recovered[0].execution_id, "run-new");
}

#[tokio::test]
async fn a_failure_within_the_grace_is_left_when_listflows_gives_no_time() {
    // ListFlows without lastRunExecutionDetails' time: the flow is read, and
    // the record's own time keeps the fresh failure the event path's.
    let w = World::new(100);
    let now = t0() + TimeDelta::minutes(30);
    w.flows.add(
        "untimed",
        "OnDemand",
        vec![
            failed("run-old", now - TimeDelta::hours(1), "x"),
            failed("run-new", now - TimeDelta::minutes(2), "x"),
        ],
    );
    w.flows.hide_last_run_time();
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.examined, out.within_grace), (1, 1));
    let decided: Vec<&str> = out.recovered.iter().map(|r| r.execution_id.as_str()).collect();
    assert_eq!(decided, vec!["run-old"]);
}

#[tokio::test]
async fn an_intake_backlog_stretches_the_grace_and_an_unreadable_queue_does_not() {
    let now = t0() + TimeDelta::minutes(30);
    let world = || {
        let w = World::new(100);
        w.flows.add(
            "queued",
            "OnDemand",
            vec![failed("run-1", now - TimeDelta::minutes(40), "x")],
        );
        w
    };
    // 40 minutes old, events waiting in the intake queue: they may include
    // this one, decided within the backlog grace by the event path.
    let w = world();
    let out = w
        .sweep_all()
        .run_with(IntakeBacklog::Waiting(1_200), || false)
        .await
        .unwrap();
    assert_eq!((out.within_grace, out.recovered.len()), (1, 0));
    assert_eq!(out.grace_seconds, SWEEP_BACKLOG_GRACE_MINUTES * 60);
    assert_eq!(out.intake_backlog, Some(1_200));
    // An empty queue, or one whose depth cannot be read: the grace.
    for backlog in [IntakeBacklog::Waiting(0), IntakeBacklog::Empty, IntakeBacklog::Unknown] {
        let w = world();
        let out = w.sweep_all().run_with(backlog, || false).await.unwrap();
        assert_eq!((out.within_grace, out.recovered.len()), (0, 1), "{backlog:?}");
        assert_eq!(out.grace_seconds, SWEEP_GRACE_MINUTES * 60, "{backlog:?}");
    }
}

#[tokio::test]
async fn one_sweep_covers_every_failed_flow_with_no_flow_bound() {
    // 1,200 failed flows (12 ListFlows pages): all read and decided in one
    // sweep; before, 100 a sweep (12 sweeps, 3 hours at the default rate).
    let w = World::new(100);
    for i in 0..1_200 {
        w.flows.add(
            &format!("flow-{i:04}"),
            "OnDemand",
            vec![failed(&format!("run-{i}"), t0() - TimeDelta::minutes(i % 60), "x")],
        );
    }
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(
        (out.flows_listed, out.list_pages, out.list_truncated),
        (1_200, 12, false)
    );
    assert_eq!((out.candidates, out.examined, out.left_for_next_run), (1_200, 1_200, 0));
    assert_eq!(out.stopped_by, None);
    assert_eq!(out.recovered.len(), 1_200);
    let mut names = w.executions();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 1_200);
}

#[tokio::test]
async fn concurrent_reads_report_in_candidate_order_as_one_at_a_time_does() {
    let report = |concurrency| async move {
        let w = World::new(100);
        for i in 0..40 {
            w.flows.add(
                &format!("flow-{i:02}"),
                "OnDemand",
                vec![failed(&format!("run-{i}"), t0() - TimeDelta::minutes(i), "x")],
            );
        }
        let limits = SweepLimits {
            concurrency,
            ..SweepLimits::default()
        };
        let out = w.sweep(Coverage::all(), limits).run(later()).await.unwrap();
        out.recovered.iter().map(|r| r.flow.clone()).collect::<Vec<_>>()
    };
    let one = report(1).await;
    assert_eq!(one.len(), 40);
    assert_eq!(report(8).await, one);
}

#[tokio::test]
async fn the_intake_backlog_is_read_from_the_queue_and_unknown_when_it_cannot_be() {
    let queues = crate::fakes::Queues::default();
    let url = "https://sqs.us-east-1.amazonaws.com/123456789012/appflow-retry-intake";
    assert_eq!(IntakeBacklog::read(&queues, url).await, IntakeBacklog::Empty);
    queues.put(url, "m1", "{}", &[]);
    queues.put(url, "m2", "{}", &[]);
    assert_eq!(IntakeBacklog::read(&queues, url).await, IntakeBacklog::Waiting(2));
    *queues.fail_count.lock().unwrap() = Some(PortError::Failed("AccessDenied: sqs:GetQueueAttributes".into()));
    assert_eq!(IntakeBacklog::read(&queues, url).await, IntakeBacklog::Unknown);
}

// A flow whose decision is under way (a running execution that started at
// or after its last run) is not read: in an outage that is most of them.

#[tokio::test]
async fn a_flow_with_a_running_execution_since_its_last_run_is_not_read() {
    let w = World::new(100);
    let last = t0() - TimeDelta::minutes(40);
    for flow in ["waiting", "older-execution", "lost"] {
        w.flows
            .add(flow, "OnDemand", vec![failed(&format!("run-{flow}"), last, "x")]);
    }
    *w.machine.running.lock().unwrap() = vec![
        // Decided after the failure: waits for its restart.
        (execution_name("waiting", "run-waiting"), last + TimeDelta::minutes(1)),
        // Another flow whose name has dashes and hex: not taken for "waiting".
        (
            execution_name("waiting-0123456789abcdef", "x"),
            last + TimeDelta::minutes(1),
        ),
        // Started before the flow's last run: for an older failure.
        (
            execution_name("older-execution", "run-0"),
            last - TimeDelta::minutes(30),
        ),
        ("not-a-derived-name".into(), last + TimeDelta::minutes(1)),
    ];
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.candidates, out.in_progress, out.examined), (3, 1, 2));
    assert_eq!(out.running_listed, Some(4));
    assert_eq!(*w.machine.list_calls.lock().unwrap(), 2, "two pages of two");
    let mut read = w.reads();
    read.sort();
    assert_eq!(read, vec!["lost", "older-execution"]);
    let mut recovered: Vec<&str> = out.recovered.iter().map(|r| r.flow.as_str()).collect();
    recovered.sort_unstable();
    assert_eq!(recovered, vec!["lost", "older-execution"]);

    // The execution ended (restarted, or skipped): the next sweep reads the
    // flow again while its last run is still the failure.
    w.machine.running.lock().unwrap().clear();
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.in_progress, out.examined, out.already_handled), (0, 3, 2));
    assert_eq!(out.recovered.len(), 1, "waiting's run had no execution in this world");
}

#[tokio::test]
async fn unlisted_running_executions_mean_every_candidate_is_read() {
    let w = World::new(100);
    let last = t0() - TimeDelta::minutes(40);
    w.flows.add("waiting", "OnDemand", vec![failed("run-1", last, "x")]);
    *w.machine.running.lock().unwrap() = vec![(execution_name("waiting", "run-1"), last + TimeDelta::minutes(1))];
    *w.machine.fail_list.lock().unwrap() = Some(PortError::Failed("AccessDeniedException".into()));
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.running_listed, out.in_progress, out.examined), (None, 0, 1));
    assert_eq!(w.reads(), vec!["waiting"]);
}

#[tokio::test]
async fn no_candidate_no_listexecutions() {
    // Steady state costs ListFlows alone.
    let w = World::new(100);
    w.flows
        .add("ok", "OnDemand", vec![record("ok-1", RunStatus::Successful, t0())]);
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.candidates, out.running_listed), (0, None));
    assert_eq!(*w.machine.list_calls.lock().unwrap(), 0);
}

// The memory of a warm instance: a flow read completely is not read again
// while its last run is the same (for up to an hour).

#[tokio::test]
async fn a_flow_read_completely_is_not_read_again_until_a_newer_run_or_an_hour() {
    let w = World::new(100);
    let last = t0() - TimeDelta::minutes(40);
    w.flows.add("given-up", "OnDemand", vec![failed("run-1", last, "x")]);
    let sweep = w.sweep_all();
    let first = sweep.run(later()).await.unwrap();
    assert_eq!((first.examined, first.recovered.len()), (1, 1));
    let reads = w.flows.record_calls();

    // The same instance 15 minutes later: nothing new, nothing read.
    w.clock.advance(TimeDelta::minutes(15));
    let next = sweep.run(later()).await.unwrap();
    assert_eq!((next.candidates, next.already_read, next.examined), (1, 1, 0));
    assert_eq!(w.flows.record_calls(), reads);
    assert_eq!(*w.machine.describes.lock().unwrap(), 1, "only the first sweep's check");

    // A newer failed run: read again, and decided.
    w.flows.add(
        "given-up",
        "OnDemand",
        vec![
            failed("run-1", last, "x"),
            failed("run-2", t0() + TimeDelta::seconds(1), "x"),
        ],
    );
    let newer = sweep.run(later()).await.unwrap();
    assert_eq!((newer.already_read, newer.examined), (0, 1));
    assert!(newer.recovered.iter().any(|r| r.execution_id == "run-2"), "{newer:?}");

    // Two hours after it was read (one, plus up to one drawn from the
    // flow's name), a flow is read again anyway.
    let _ = sweep.run(later()).await.unwrap();
    w.clock.advance(TimeDelta::minutes(2 * MEMORY_TTL_MINUTES));
    let stale = sweep.run(later()).await.unwrap();
    assert_eq!((stale.already_read, stale.examined), (0, 1));
}

#[tokio::test]
async fn a_flow_with_anything_left_is_not_remembered() {
    // A failed decision (StartExecution down), a failure inside the grace,
    // and a last run whose record AppFlow does not show yet: each is read
    // again by the next sweep of the same instance.
    let w = World::new(100);
    let now = t0() + TimeDelta::minutes(30);
    w.flows.add(
        "down",
        "OnDemand",
        vec![failed("run-down", now - TimeDelta::hours(1), "x")],
    );
    w.flows.add(
        "graced",
        "OnDemand",
        vec![
            failed("run-old", now - TimeDelta::hours(1), "x"),
            failed("run-new", now - TimeDelta::minutes(3), "x"),
        ],
    );
    w.flows.add(
        "lagging",
        "OnDemand",
        vec![
            failed("run-seen", now - TimeDelta::hours(2), "x"),
            failed("run-late", now - TimeDelta::minutes(20), "x"),
        ],
    );
    w.flows.unlisted.lock().unwrap().insert("run-late".into());
    let sweep = w.sweep_all();
    *w.machine.fail.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let failed_run = sweep.run(later()).await.unwrap_err();
    assert_eq!(failed_run.error_type(), "SweepIncomplete");
    *w.machine.fail.lock().unwrap() = None;
    let out = sweep.run(later()).await.unwrap();
    // "down" is decided now; "graced" had its newest run inside the grace by
    // ListFlows' time and is not read; "lagging" is read and its late record
    // still missing: not remembered.
    assert_eq!(out.within_grace, 1, "{out:?}");
    let again = sweep.run(later()).await.unwrap();
    assert_eq!(again.already_read, 1, "only \"down\" was read completely: {again:?}");
    w.flows.unlisted.lock().unwrap().clear();
    let shown = sweep.run(later()).await.unwrap();
    assert!(
        shown.recovered.iter().any(|r| r.execution_id == "run-late"),
        "the late record is decided once AppFlow shows it: {shown:?}"
    );
}

#[tokio::test]
async fn the_sweep_reads_its_flows_policies_ten_names_a_call() {
    // 95 failed flows and the default: 96 names, 10 a GetParameters call in
    // chunks of 40 flows (41 names: 5 calls; the default once): 12 calls,
    // where one load per flow took 95.
    let w = World::new(100);
    for i in 0..95 {
        w.flows.add(
            &format!("flow-{i:02}"),
            "OnDemand",
            vec![failed(&format!("run-{i}"), t0() - TimeDelta::minutes(20), "x")],
        );
    }
    let before = w.store.reads();
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.recovered.len(), 95);
    let calls = w.store.reads() - before;
    assert!(calls <= 12, "{calls} GetParameters calls");

    // SSM down: each flow's own load fails as before, named.
    let w = World::new(100);
    w.flows.add(
        "f",
        "OnDemand",
        vec![failed("run-1", t0() - TimeDelta::minutes(20), "x")],
    );
    *w.store.fail.lock().unwrap() = Some(PortError::Throttled("ThrottlingException".into()));
    let err = w.sweep_all().run(later()).await.unwrap_err();
    let SweepError::Incomplete(out) = err else { panic!() };
    assert_eq!(out.problems[0].error_type, "PolicyUnavailable");
}
