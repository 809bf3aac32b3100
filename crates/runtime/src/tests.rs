//! The handlers' logic on in-memory ports.

use appflow_retry_policy::naming::{client_token, default_parameter, execution_name, flow_parameter};
use appflow_retry_policy::{Action, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::fakes::{Flows, PREFIX, Ports, record};
use crate::ports::PortError;
use crate::{OnFailureError, PolicyCache, RestartError};

const FLOW: &str = "sf-accounts";
const FAILED: &str = "9aa00099-9943-449a-9c7a-488dbc801242";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T09:02:47Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn event(flow: &str, id: &str, trigger: &str, error: &str) -> Value {
    json!({
        "version": "0", "id": "e", "source": "aws.appflow", "account": "123456789012",
        "detail-type": "AppFlow End Flow Run Report", "time": "2026-11-29T09:06:21Z",
        "region": "us-east-1", "resources": ["x"],
        "detail": {
            "flow-name": flow, "execution-id": id, "trigger-type": trigger,
            "start-time": "2026-11-29T09:02:47.000Z[UTC]", "status": "Execution Failed",
            "num-of-records-processed": "0", "error": error
        }
    })
}

// The handlers' ports with one on-demand flow whose run FAILED failed.
crate::fakes::test_world!();

impl World {
    fn new() -> World {
        let w = Ports::new(
            Flows::default(),
            t0() + TimeDelta::minutes(4),
            "backoff: {jitter: none}\n",
        );
        let mut failed = record(FAILED, RunStatus::Error, t0());
        failed.message = Some("Read timed out".into());
        w.flows.add(FLOW, "OnDemand", vec![failed]);
        World(w)
    }
}

#[tokio::test]
async fn first_failure_starts_one_execution_with_the_decision() {
    let w = World::new();
    let out = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "Read timed out"))
        .await
        .unwrap();
    assert_eq!(out.execution, "started");
    assert_eq!(out.decision.action, Action::Retry);
    assert_eq!(out.decision.delay_seconds, Some(120));
    let executions = w.machine.executions.lock().unwrap().clone();
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].0, execution_name(FLOW, FAILED));
    let input: Value = serde_json::from_str(&executions[0].1).unwrap();
    assert_eq!(input["flow_name"], FLOW);
    assert_eq!(input["execution_id"], FAILED);
    assert_eq!(input["error_message"], "Read timed out");
    assert_eq!(input["decision"], serde_json::to_value(&out.decision).unwrap());
    assert_eq!(input["decision"]["policy"], "default");
}

#[tokio::test]
async fn a_duplicate_event_starts_nothing_new() {
    let w = World::new();
    let h = w.on_failure();
    let e = event(FLOW, FAILED, "ONDEMAND", "Read timed out");
    let first = h.handle(&e).await.unwrap();
    for _ in 0..4 {
        let again = h.handle(&e).await.unwrap();
        assert_eq!(again.execution, "already_exists");
        assert_eq!(again.decision, first.decision, "identical input, identical decision");
    }
    assert_eq!(w.machine.executions.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn policies_cost_at_most_one_read_per_flow_per_ttl() {
    let w = World::new();
    w.flows.add("other", "OnDemand", vec![]);
    let h = w.on_failure();
    // Scheduled runs: decided on the policy alone, so only SSM is counted.
    for i in 0..10 {
        h.handle(&event(FLOW, &format!("id-{i}"), "SCHEDULED", "x"))
            .await
            .unwrap();
    }
    assert_eq!(
        (w.store.reads(), w.store.gets()),
        (1, 2),
        "default + the flow in one GetParameters call, the missing flow parameter cached too"
    );
    h.handle(&event("other", "o-1", "SCHEDULED", "x")).await.unwrap();
    assert_eq!((w.store.reads(), w.store.gets()), (2, 3), "the default is shared");
    w.clock.advance(TimeDelta::seconds(61));
    h.handle(&event(FLOW, "id-x", "SCHEDULED", "x")).await.unwrap();
    assert_eq!(
        (w.store.reads(), w.store.gets()),
        (3, 5),
        "both refetched after the TTL, in one call"
    );
}

#[tokio::test]
async fn a_flow_parameter_is_used_and_a_broken_one_fails_closed() {
    let w = World::new();
    let param = flow_parameter(PREFIX, FLOW);
    w.store.put(&param, "flow: sf-accounts\nmax_retries: 0\n");
    let out = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "x"))
        .await
        .unwrap();
    assert_eq!(
        (out.decision.action, out.decision.policy.as_str()),
        (Action::GiveUp, param.as_str())
    );
    assert!(out.policy_problems.is_empty());

    // Each of these once restarted the flow on the default policy.
    for (i, text, problem) in [
        (1, "flow: sf-accounts\nmax_retries: [\n", ":3:1: invalid YAML"),
        (
            2,
            "flow: sf-accounts\nenabled: no\n",
            ":2:10: enabled: invalid type: string \"no\"",
        ),
        (3, "flow: sf-accounts\na: &x [1]\n", ":2:7: YAML anchors"),
        (4, "flow: other-flow\n", "names another flow"),
    ] {
        w.store.put(&param, text);
        let w_calls = w.flows.record_calls();
        let out = w
            .on_failure()
            .handle(&event(FLOW, &format!("id-{i}"), "ONDEMAND", "x"))
            .await
            .unwrap();
        let d = &out.decision;
        assert_eq!(
            (d.action, d.notify, d.policy.as_str()),
            (Action::Skip, true, param.as_str()),
            "{text}"
        );
        assert!(
            d.reason.contains(param.as_str()) && d.reason.contains(problem),
            "{text}: {}",
            d.reason
        );
        assert!(!out.policy_problems.is_empty());
        assert_eq!(w.flows.record_calls(), w_calls, "decided without the history");
    }
}

#[tokio::test]
async fn a_broken_default_skips_every_flow_and_a_missing_one_means_built_ins() {
    let w = World::new();
    w.store.put(&default_parameter(PREFIX), "max_retries: lots\n");
    let out = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "Read timed out"))
        .await
        .unwrap();
    assert_eq!((out.decision.action, out.decision.notify), (Action::Skip, true));
    assert_eq!(out.decision.policy, default_parameter(PREFIX));

    let w = World::new();
    w.store.params.lock().unwrap().clear();
    let loaded = PolicyCache::new(&w.store, PREFIX, 60).load(FLOW, t0()).await.unwrap();
    assert!(loaded.default_missing);
    let metrics = crate::telemetry::policy_metrics(FLOW, &loaded, 0);
    assert_eq!(metrics.len(), 1);
    assert!(metrics[0].contains("\"DefaultPolicyMissing\":1"), "{}", metrics[0]);
    let out = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "Read timed out"))
        .await
        .unwrap();
    assert_eq!(out.decision.action, Action::Retry, "the built-in defaults");
}

#[tokio::test]
async fn no_decision_before_the_failed_run_is_recorded_and_final() {
    let w = World::new();
    let err = w
        .on_failure()
        .handle(&event(FLOW, "not-yet-recorded", "ONDEMAND", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "FailedRunNotFound");
    w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().1[0].status = RunStatus::InProgress;
    let err = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "FailedRunNotFinal");
    assert!(w.machine.executions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn cancelled_runs_and_deleted_flows_skip() {
    let w = World::new();
    let mut e = event(FLOW, FAILED, "ONDEMAND", "x");
    e["detail"]["status"] = json!("Execution Canceled");
    let out = w.on_failure().handle(&e).await.unwrap();
    assert_eq!(out.decision.action, Action::Skip);
    assert!(out.decision.reason.contains("cancelled"), "{}", out.decision.reason);
    assert_eq!(w.flows.record_calls(), 0);

    let out = w
        .on_failure()
        .handle(&event("deleted-flow", "d-1", "ONDEMAND", "x"))
        .await
        .unwrap();
    assert_eq!(out.decision.action, Action::Skip);
    assert!(
        out.decision.reason.contains("no longer exists"),
        "{}",
        out.decision.reason
    );
    assert!(out.decision.notify, "skip is in the default notify list");
}

#[tokio::test]
async fn scheduled_flows_skip_without_reading_history() {
    let w = World::new();
    let out = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "SCHEDULED", "x"))
        .await
        .unwrap();
    assert_eq!(out.decision.action, Action::Skip);
    assert_eq!(w.flows.record_calls(), 0);
    assert_eq!(
        w.machine.executions.lock().unwrap().len(),
        1,
        "skips are recorded and notified too"
    );
}

#[tokio::test]
async fn no_decision_without_history() {
    let w = World::new();
    *w.flows.fail.lock().unwrap() = Some(PortError::Throttled("Rate exceeded".into()));
    let err = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "HistoryUnavailable");
    assert!(w.machine.executions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn unreadable_policies_and_state_machine_failures_are_errors() {
    let w = World::new();
    *w.store.fail.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let err = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "PolicyUnavailable");

    for (fault, name) in [
        (PortError::Failed("AccessDenied".into()), "StateMachineRejected"),
        (PortError::Unavailable("503".into()), "StateMachineUnavailable"),
        (PortError::Throttled("Rate exceeded".into()), "StateMachineUnavailable"),
    ] {
        let w = World::new();
        *w.machine.fail.lock().unwrap() = Some(fault);
        let err = w
            .on_failure()
            .handle(&event(FLOW, FAILED, "ONDEMAND", "x"))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), name);
    }
}

#[tokio::test]
async fn bad_events_name_the_field() {
    let w = World::new();
    let mut e = event(FLOW, FAILED, "ONDEMAND", "x");
    e["detail"].as_object_mut().unwrap().remove("flow-name");
    let err = w.on_failure().handle(&e).await.unwrap_err();
    assert!(
        matches!(&err, OnFailureError::InvalidEvent(ev) if ev.field == "detail.flow-name"),
        "{err}"
    );
    assert_eq!(err.error_type(), "InvalidEvent");
    let err = w.on_failure().handle(&json!({"source": "aws.s3"})).await.unwrap_err();
    assert!(err.to_string().contains("`source`"), "{err}");
}

fn paged_flows(records: Vec<appflow_retry_policy::RunRecord>) -> Flows {
    let flows = Flows {
        page_size: 2,
        ..Flows::default()
    };
    flows.add(FLOW, "OnDemand", records);
    flows
}

fn cover(lookback_minutes: i64) -> crate::history::Cover<'static> {
    crate::history::Cover {
        execution_id: FAILED,
        fallback_time: t0(),
        lookback: TimeDelta::minutes(lookback_minutes),
        until_streak_end: false,
    }
}

#[tokio::test]
async fn history_is_read_until_the_failed_run_and_its_window_are_covered() {
    use crate::history::{HistoryError, read_history};
    // Newest first: the failed run, then older runs, 2 a page.
    let mut records = vec![record(FAILED, RunStatus::Error, t0())];
    records.extend((0..10).map(|i| {
        record(
            &format!("r{i}"),
            RunStatus::Error,
            t0() - TimeDelta::minutes(10 * (i + 1)),
        )
    }));
    let flows = paged_flows(records.clone());
    let got = read_history(&flows, FLOW, cover(25), 20).await.unwrap();
    assert_eq!(
        (got.len(), flows.record_calls()),
        (6, 3),
        "stops at the first page wholly before the window"
    );

    // Oldest first: the failed run is on the last page; everything is read.
    records.reverse();
    let flows = paged_flows(records.clone());
    let got = read_history(&flows, FLOW, cover(25), 20).await.unwrap();
    assert_eq!((got.len(), flows.record_calls()), (11, 6));

    // The bound is hit before the failed run is seen: a named error, no guess.
    let flows = paged_flows(records);
    let err = read_history(&flows, FLOW, cover(25), 3).await.unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::Incomplete {
                pages: 3,
                records: 6,
                ..
            }
        ),
        "{err}"
    );
    let w = World::new();
    let mut many: Vec<_> = (0..350)
        .map(|i| {
            record(
                &format!("r{i}"),
                RunStatus::Successful,
                t0() - TimeDelta::days(2) - TimeDelta::minutes(i),
            )
        })
        .collect();
    many.push(record(FAILED, RunStatus::Error, t0()));
    w.flows.add(FLOW, "OnDemand", many);
    let err = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "HistoryIncomplete", "{err}");
    assert!(w.machine.executions.lock().unwrap().is_empty());

    // A deleted flow is its own answer.
    let err = read_history(&Flows::default(), FLOW, cover(25), 3).await.unwrap_err();
    assert!(matches!(err, HistoryError::FlowNotFound(_)), "{err}");
}

/// A world with `default` as the default policy and a flow that ran every
/// minute for 2 days before its failed run: the run `i` minutes before it
/// has `status(i)`. Returns the runs too, newest first.
fn per_minute_world(default: &str, status: impl Fn(i64) -> RunStatus) -> (World, Vec<appflow_retry_policy::RunRecord>) {
    let w = World::new();
    w.store.put(&default_parameter(PREFIX), default);
    let mut failed = record(FAILED, RunStatus::Error, t0());
    failed.message = Some("Read timed out".into());
    let mut runs = vec![failed];
    runs.extend((1..2880).map(|i| record(&format!("r{i}"), status(i), t0() - TimeDelta::minutes(i))));
    w.flows.add(FLOW, "OnDemand", runs.clone());
    (w, runs)
}

/// A flow that runs every minute, a 2-day window, three pages at most: 2,880
/// runs in the window. The failure streak (the failed run and 2 failures
/// before it) is closed by a success on the same page, listed newest first,
/// so the decision reads 1 page; before, it read until the window's edge
/// and was parked as incomplete (issue 18).
#[tokio::test]
async fn a_per_minute_flow_is_decided_once_its_failure_streak_is_closed() {
    use crate::history::{HistoryError, read_history};
    let (w, mut runs) = per_minute_world("retry_window: 2d\nbackoff: {jitter: none}\n", |i| {
        if i <= 2 {
            RunStatus::Error
        } else {
            RunStatus::Successful
        }
    });

    let out = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "Read timed out"))
        .await
        .unwrap();
    assert_eq!(out.decision.action, Action::Retry, "{:?}", out.decision.reason);
    assert_eq!(out.decision.attempt, Some(3), "the 2 failures before it count");
    assert_eq!(
        w.flows.record_calls(),
        1,
        "the failed run's page closes its streak, and its 100 records came newest first"
    );

    // Without the streak's end, the same history is not covered in 3 pages.
    let whole_window = crate::history::Cover {
        lookback: TimeDelta::days(2),
        ..cover(0)
    };
    let err = read_history(&w.flows, FLOW, whole_window, 3).await.unwrap_err();
    assert!(matches!(err, HistoryError::Incomplete { .. }), "{err}");

    // Oldest first, the order is not evidently newest first: no early stop.
    runs.reverse();
    let flows = Flows::default();
    flows.add(FLOW, "OnDemand", runs);
    let streak_only = crate::history::Cover {
        until_streak_end: true,
        ..whole_window
    };
    let err = read_history(&flows, FLOW, streak_only, 3).await.unwrap_err();
    assert!(matches!(err, HistoryError::Incomplete { .. }), "{err}");
}

/// A flow that failed every minute for 2 days: the bound (3 pages here)
/// stops the reader inside the failure streak, which already holds more
/// failures than `max_retries`: the decision is the give-up those pages
/// prove, notified, not a parked failure (issue 18).
#[tokio::test]
async fn a_streak_longer_than_the_bound_gives_up_on_the_pages_read() {
    let (w, _) = per_minute_world("retry_window: 2d\nmax_retries: 3\nbackoff: {jitter: none}\n", |_| {
        RunStatus::Error
    });
    let out = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "Read timed out"))
        .await
        .unwrap();
    assert_eq!(out.decision.action, Action::GiveUp, "{}", out.decision.reason);
    assert!(out.decision.notify, "a give-up is told");
    assert!(
        out.decision.reason.contains("decided on the 300 records read"),
        "{}",
        out.decision.reason
    );
    assert_eq!(w.flows.record_calls(), 3, "the bound");
    assert_eq!(
        out.execution, "started",
        "the give-up's notice runs in the state machine"
    );
}

/// The streak stop never changes a decision: for seeded random histories
/// (statuses, gaps, the failed run's place, page sizes, windows; listed
/// newest first, oldest first or shuffled), deciding on what the streak
/// reader read equals deciding on every record.
#[tokio::test]
async fn stopping_at_the_streak_end_decides_as_reading_everything() {
    use appflow_retry_policy::{FailureEvent, FlowPolicy, SplitMix64, decide};

    use crate::history::{Cover, read_history};
    let mut rng = SplitMix64::new(18);
    let mut early_stops = 0;
    for case in 0..1000 {
        let mut next = |n: u64| rng.next_u64() % n;
        let window = ["1h", "6h", "1d", "2d"][usize::try_from(next(4)).unwrap()];
        let policy = FlowPolicy::from_texts(
            FLOW,
            Some((
                "default",
                &format!("retry_window: {window}\nmax_retries: 5\nbackoff: {{jitter: none}}\n"),
            )),
            None,
        );
        let len = 1 + next(60);
        let failed_at_index = next(len);
        let mut time = t0() + TimeDelta::minutes(i64::try_from(failed_at_index * 30).unwrap());
        let mut runs = Vec::new();
        for i in 0..len {
            let (id, status) = if i == failed_at_index {
                (FAILED.to_owned(), RunStatus::Error)
            } else {
                let status = match next(10) {
                    0..=5 => RunStatus::Error,
                    6..=8 => RunStatus::Successful,
                    _ => RunStatus::Canceled,
                };
                (format!("r{i}"), status)
            };
            let mut r = record(&id, status, time);
            r.message = Some("Read timed out".into());
            runs.push(r);
            time -= TimeDelta::minutes(i64::try_from(1 + next(30)).unwrap());
        }
        let failed_time = runs[usize::try_from(failed_at_index).unwrap()].time().unwrap();
        // Half the cases oldest first or shuffled: the order must be
        // evident before the reader stops early.
        let mut listed = runs.clone();
        match next(4) {
            0 => listed.reverse(),
            1 => {
                for i in (1..listed.len()).rev() {
                    let j = usize::try_from(next(u64::try_from(i + 1).unwrap())).unwrap();
                    listed.swap(i, j);
                }
            }
            _ => {}
        }
        let flows = Flows {
            page_size: usize::try_from(1 + next(7)).unwrap(),
            ..Flows::default()
        };
        flows.add(FLOW, "OnDemand", listed);
        let cover = Cover {
            execution_id: FAILED,
            fallback_time: failed_time,
            lookback: TimeDelta::days(2),
            until_streak_end: true,
        };
        let read = read_history(&flows, FLOW, cover, 1000).await.unwrap();
        if read.len() < runs.len() {
            early_stops += 1;
        }
        let mut e = event(FLOW, FAILED, "ONDEMAND", "Read timed out");
        e["detail"]["start-time"] = json!(appflow_retry_policy::format_time(failed_time));
        let event = FailureEvent::from_json(&e).unwrap();
        let now = failed_time + TimeDelta::minutes(3);
        let on_read = decide(&event, &read, &policy, now, &mut SplitMix64::for_execution(FAILED));
        let on_all = decide(&event, &runs, &policy, now, &mut SplitMix64::for_execution(FAILED));
        assert_eq!(
            on_read,
            on_all,
            "case {case}: {} of {} records read",
            read.len(),
            runs.len()
        );
    }
    assert!(early_stops > 150, "the stop was exercised in {early_stops} cases only");
}

fn restart_input(w: &World) -> Value {
    let out = futures_block(
        w.on_failure()
            .handle(&event(FLOW, FAILED, "ONDEMAND", "Read timed out")),
    );
    json!({
        "flow_name": FLOW, "execution_id": FAILED, "decision": out.unwrap().decision,
        "execution_name": execution_name(FLOW, FAILED),
        "execution_started_at": "2026-11-29T09:06:47.000Z",
    })
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn restart_starts_the_flow_with_a_stable_client_token() {
    let w = World::new();
    let input = restart_input(&w);
    let out = futures_block(w.restart().handle(&input)).unwrap();
    assert_eq!(
        (out.outcome.as_str(), out.new_execution_id.as_deref()),
        ("restarted", Some("new-1"))
    );
    assert!(!out.notify, "retry is not in the default notify list");
    let started = w.flows.started.lock().unwrap().clone();
    assert_eq!(started, vec![(FLOW.to_owned(), client_token(FAILED))]);
}

#[test]
fn restart_skips_when_things_changed() {
    type Change = fn(&World);
    let cases: [(&str, Change, &str); 5] = [
        (
            "disabled",
            |w| {
                w.store
                    .put(&flow_parameter(PREFIX, FLOW), "flow: sf-accounts\nenabled: false\n")
            },
            "disabled",
        ),
        (
            "deleted",
            |w| {
                w.flows.flows.lock().unwrap().remove(FLOW);
            },
            "no longer exists",
        ),
        (
            "suspended",
            |w| w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().0.status = "Suspended".into(),
            "Suspended",
        ),
        (
            "scheduled",
            |w| w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().0.trigger_type = "Scheduled".into(),
            "Scheduled",
        ),
        (
            "newer run",
            |w| {
                // Started after the execution (09:06:47), before its wait ended.
                w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().1.push(record(
                    "later",
                    RunStatus::Successful,
                    t0() + TimeDelta::minutes(5),
                ))
            },
            "newer run later (Successful)",
        ),
    ];
    for (name, change, reason) in cases {
        let w = World::new();
        let input = restart_input(&w);
        change(&w);
        let out = futures_block(w.restart().handle(&input)).unwrap();
        assert_eq!(out.outcome.as_str(), "skipped", "{name}");
        assert!(out.reason.contains(reason), "{name}: {}", out.reason);
        assert!(out.notify, "{name}: skip is in the default notify list");
        assert!(w.flows.started.lock().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn restart_errors_carry_names_the_state_machine_matches() {
    let w = World::new();
    let input = restart_input(&w);
    *w.flows.fail.lock().unwrap() = Some(PortError::Throttled("Rate exceeded".into()));
    let err = futures_block(w.restart().handle(&input)).unwrap_err();
    assert_eq!(err.error_type(), "AppFlowThrottled");
    *w.flows.fail.lock().unwrap() = Some(PortError::Unavailable("500".into()));
    assert_eq!(
        futures_block(w.restart().handle(&input)).unwrap_err().error_type(),
        "AppFlowUnavailable"
    );

    let err = futures_block(w.restart().handle(&json!({"flow_name": FLOW}))).unwrap_err();
    assert!(
        matches!(&err, RestartError::InvalidInput(m) if m.contains("execution_id")),
        "{err}"
    );
    let mut not_retry = input.clone();
    not_retry["decision"]["action"] = json!("skip");
    assert_eq!(
        futures_block(w.restart().handle(&not_retry)).unwrap_err().error_type(),
        "InvalidInput"
    );
}

#[test]
fn restart_refuses_inputs_on_failure_did_not_make() {
    type Forge = fn(&mut Value, &World);
    let cases: [(&str, Forge); 6] = [
        ("no execution name", |i, _| {
            i.as_object_mut().unwrap().remove("execution_name");
        }),
        ("another execution's name", |i, _| {
            i["execution_name"] = json!("hand-made")
        }),
        ("an execution id not in the history", |i, _| {
            i["execution_id"] = json!("made-up");
            i["decision"]["execution_id"] = json!("made-up");
            i["execution_name"] = json!(execution_name(FLOW, "made-up"));
        }),
        ("another time", |i, _| {
            i["decision"]["failed_run_started_at"] = json!("2026-11-29T08:00:00Z");
        }),
        ("a run that did not fail", |_, w| {
            w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().1[0].status = RunStatus::Successful;
        }),
        ("another flow than the decision's", |i, w| {
            w.flows
                .add("other", "OnDemand", vec![record(FAILED, RunStatus::Error, t0())]);
            i["flow_name"] = json!("other");
            i["execution_name"] = json!(execution_name("other", FAILED));
        }),
    ];
    for (name, forge) in cases {
        let w = World::new();
        let mut input = restart_input(&w);
        forge(&mut input, &w);
        let err = futures_block(w.restart().handle(&input)).unwrap_err();
        assert_eq!(err.error_type(), "RestartRefused", "{name}: {err}");
        assert!(w.flows.started.lock().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn a_retried_restart_recognises_its_own_run() {
    // The first attempt's StartFlow went through but its answer was lost:
    // a run started after the backoff ended (09:06:47 + 120 s) is its own.
    let w = World::new();
    let input = restart_input(&w);
    w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().1.push(record(
        "mine",
        RunStatus::InProgress,
        t0() + TimeDelta::minutes(6) + TimeDelta::seconds(1),
    ));
    let out = futures_block(w.restart().handle(&input)).unwrap();
    assert_eq!(
        (out.outcome.as_str(), out.new_execution_id.as_deref()),
        ("restarted", Some("mine"))
    );
    assert!(out.reason.contains("earlier attempt"), "{}", out.reason);
    assert!(w.flows.started.lock().unwrap().is_empty(), "nothing started twice");

    // Without the execution's start time (which only Step Functions sets) nothing is
    // re-decided or started: refused.
    let mut no_start = input.clone();
    no_start.as_object_mut().unwrap().remove("execution_started_at");
    let err = futures_block(w.restart().handle(&no_start)).unwrap_err();
    assert_eq!(err.error_type(), "RestartRefused", "{err}");
    assert!(w.flows.started.lock().unwrap().is_empty(), "nothing started");
}

#[test]
fn restart_skips_a_broken_policy_with_a_notification_and_a_deleted_flow() {
    let w = World::new();
    let input = restart_input(&w);
    w.store.put(
        &flow_parameter(PREFIX, FLOW),
        "flow: sf-accounts\nnotify: []\nenabled: maybe\n",
    );
    let out = futures_block(w.restart().handle(&input)).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true));
    assert!(out.reason.contains("unusable"), "{}", out.reason);
    assert!(w.flows.started.lock().unwrap().is_empty());
}

// ---- Deactivated scheduled and event flows (docs/design.md §4, re-activation rules)

const NIGHTLY: &str = "nightly-orders";

fn deactivation(flow: &str, detail_type: &str) -> Value {
    json!({
        "version": "0", "id": "6f0e1c2a-0000-4000-8000-000000000001", "source": "aws.appflow",
        "account": "123456789012", "detail-type": detail_type,
        "time": "2026-11-29T09:06:21Z", "region": "us-east-1", "resources": [],
        "detail": {"flow-name": flow, "deactivation-reason": "3 consecutive failures: Read timed out"}
    })
}

/// A scheduled flow (threshold 3) with three failed runs, deactivated;
/// its policy enables re-activation.
fn deactivated_world(policy: &str) -> World {
    let w = World::new();
    w.store
        .put(&flow_parameter(PREFIX, NIGHTLY), &format!("flow: {NIGHTLY}\n{policy}"));
    let runs = (1..=3)
        // The newest ends just before the deactivation: AppFlow deactivates right after it.
        .map(|i| record(&format!("run-{i}"), RunStatus::Error, t0() - TimeDelta::hours(i - 1)))
        .collect();
    w.flows.add(NIGHTLY, "Scheduled", runs);
    w.flows.set_status(NIGHTLY, "Suspended");
    w
}

const REACTIVATE: &str = "reactivate: {enabled: true, backoff: {jitter: none}}\nnotify: [give_up, skip, reactivate]\n";

#[tokio::test]
async fn a_deactivation_becomes_one_reactivate_execution() {
    let w = deactivated_world(REACTIVATE);
    let h = w.on_failure();
    let e = deactivation(NIGHTLY, "AppFlow Scheduled Flow Deactivated");
    let out = h.handle(&e).await.unwrap();
    assert_eq!(out.decision.action, Action::Reactivate, "{:#?}", out.decision);
    assert_eq!(out.decision.attempt, Some(1));
    assert_eq!(out.decision.delay_seconds, Some(300));
    assert_eq!(out.decision.execution_id, "deactivated-20261129T090621Z");
    assert!(out.decision.notify);
    assert_eq!(
        out.execution_name,
        execution_name(NIGHTLY, "deactivated-20261129T090621Z")
    );
    let input: Value = serde_json::from_str(&w.machine.executions.lock().unwrap()[0].1).unwrap();
    assert_eq!(input["error_message"], "3 consecutive failures: Read timed out");
    assert_eq!(input["decision"]["action"], "reactivate");
    // A duplicate delivery maps to the same execution.
    assert_eq!(h.handle(&e).await.unwrap().execution, "already_exists");
    assert_eq!(w.machine.executions.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn deactivations_that_stay_are_always_notified() {
    // Re-activation off (the default), and a reason in skip_errors: skip, told.
    let w = deactivated_world("notify: []\n");
    let out = w
        .on_failure()
        .handle(&deactivation(NIGHTLY, "AppFlow Event Flow Deactivated"))
        .await
        .unwrap();
    assert_eq!((out.decision.action, out.decision.notify), (Action::Skip, true));
    assert_eq!(w.flows.record_calls(), 0, "decided without history");

    let w = deactivated_world(REACTIVATE);
    let mut e = deactivation(NIGHTLY, "AppFlow Scheduled Flow Deactivated");
    e["detail"]["deactivation-reason"] = json!("INVALID_SESSION_ID: expired access token");
    let out = w.on_failure().handle(&e).await.unwrap();
    assert_eq!((out.decision.action, out.decision.notify), (Action::Skip, true));
    assert_eq!(out.decision.error_class.as_deref(), Some("auth"));

    // The flow was deleted meanwhile.
    let w = deactivated_world(REACTIVATE);
    let out = w
        .on_failure()
        .handle(&deactivation("gone-flow", "AppFlow Scheduled Flow Deactivated"))
        .await
        .unwrap();
    assert_eq!(out.decision.action, Action::Skip);
    w.store.put(
        &flow_parameter(PREFIX, "gone-flow"),
        &format!("flow: gone-flow\n{REACTIVATE}"),
    );
    // With re-activation enabled (a fresh handler reads the new parameter), still a told skip.
    let out = w
        .on_failure()
        .handle(&deactivation("gone-flow", "AppFlow Scheduled Flow Deactivated"))
        .await
        .unwrap();
    assert_eq!((out.decision.action, out.decision.notify), (Action::Skip, true));
    assert!(
        out.decision.reason.contains("no longer exists"),
        "{}",
        out.decision.reason
    );
}

#[tokio::test]
async fn the_threshold_from_describe_flow_counts_earlier_reactivations() {
    // 6 failures at threshold 3: the second deactivation; max_reactivations 1 → give up.
    let w = deactivated_world("reactivate: {enabled: true, max_reactivations: 1}\n");
    let runs = (1..=6)
        .map(|i| {
            record(
                &format!("run-{i}"),
                RunStatus::Error,
                t0() - TimeDelta::hours(i) + TimeDelta::minutes(30),
            )
        })
        .collect();
    w.flows.add(NIGHTLY, "Scheduled", runs);
    w.flows.set_status(NIGHTLY, "Suspended");
    let out = w
        .on_failure()
        .handle(&deactivation(NIGHTLY, "AppFlow Scheduled Flow Deactivated"))
        .await
        .unwrap();
    assert_eq!((out.decision.action, out.decision.attempt), (Action::GiveUp, Some(2)));
    assert!(out.decision.notify);
    // Unreadable AppFlow: an error, never a guess.
    *w.flows.fail.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let err = w
        .on_failure()
        .handle(&deactivation(NIGHTLY, "AppFlow Event Flow Deactivated"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "HistoryUnavailable");
}

#[tokio::test]
async fn a_deactivation_event_without_a_flow_name_is_invalid() {
    let w = World::new();
    let mut e = deactivation(NIGHTLY, "AppFlow Scheduled Flow Deactivated");
    e["detail"]["flow-name"] = json!(7);
    let err = w.on_failure().handle(&e).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent");
    assert!(err.to_string().contains("detail.flow-name"), "{err}");
}

fn reactivate_input(w: &World) -> Value {
    let out = futures_block(
        w.on_failure()
            .handle(&deactivation(NIGHTLY, "AppFlow Scheduled Flow Deactivated")),
    )
    .unwrap();
    assert_eq!(out.decision.action, Action::Reactivate);
    let id = out.decision.execution_id.clone();
    json!({
        "flow_name": NIGHTLY, "execution_id": id, "decision": out.decision,
        "execution_name": execution_name(NIGHTLY, &id),
        "execution_started_at": "2026-11-29T09:07:00.000Z",
    })
}

#[test]
fn restart_reactivates_a_deactivated_flow_and_reports_its_status() {
    let w = deactivated_world(REACTIVATE);
    let input = reactivate_input(&w);
    let out = futures_block(w.restart().handle(&input)).unwrap();
    assert_eq!(out.outcome.as_str(), "reactivated", "{out:?}");
    assert_eq!(out.flow_status.as_deref(), Some("Active"));
    assert!(out.reason.contains("now reports Active"), "{}", out.reason);
    assert!(out.notify, "notify has reactivate");
    assert_eq!(w.flows.status(NIGHTLY).as_deref(), Some("Active"));
    let started = w.flows.started.lock().unwrap().clone();
    assert_eq!(
        started,
        vec![(NIGHTLY.to_owned(), client_token("deactivated-20261129T090621Z"))]
    );
    // A retried step finds the flow Active: nothing more, told.
    let again = futures_block(w.restart().handle(&input)).unwrap();
    assert_eq!((again.outcome.as_str(), again.notify), ("skipped", true));
    assert_eq!(w.flows.started.lock().unwrap().len(), 1);
}

#[test]
fn restart_rechecks_before_reactivating() {
    type Change = fn(&World);
    let cases: [(&str, Change, &str); 5] = [
        (
            "active again",
            |w| w.flows.set_status(NIGHTLY, "Active"),
            "no longer deactivated",
        ),
        (
            "now on demand",
            |w| {
                w.flows.add(NIGHTLY, "OnDemand", vec![]);
                w.flows.set_status(NIGHTLY, "Suspended");
            },
            "not scheduled or event",
        ),
        (
            "policy turned off",
            |w| {
                w.store.put(
                    &flow_parameter(PREFIX, NIGHTLY),
                    &format!("flow: {NIGHTLY}\nreactivate: {{enabled: false}}\n"),
                )
            },
            "disabled",
        ),
        (
            "a run since",
            |w| {
                let mut runs = vec![record("later", RunStatus::Error, t0() + TimeDelta::hours(1))];
                runs.push(record("run-1", RunStatus::Error, t0() - TimeDelta::hours(1)));
                w.flows.add(NIGHTLY, "Scheduled", runs);
                w.flows.set_status(NIGHTLY, "Suspended");
            },
            "came after this deactivation",
        ),
        (
            "deleted",
            |w| {
                w.flows.flows.lock().unwrap().remove(NIGHTLY);
            },
            "no longer exists",
        ),
    ];
    for (name, change, needle) in cases {
        let w = deactivated_world(REACTIVATE);
        let input = reactivate_input(&w);
        change(&w);
        // A fresh restart handler: its policy cache sees the change.
        let out = futures_block(w.restart().handle(&input)).unwrap();
        assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{name}: {out:?}");
        assert!(out.reason.contains(needle), "{name}: {}", out.reason);
        assert!(w.flows.started.lock().unwrap().is_empty(), "{name}");
    }
    // A hand-made input under another name is refused.
    let w = deactivated_world(REACTIVATE);
    let mut input = reactivate_input(&w);
    input["execution_name"] = json!("made-by-hand");
    let err = futures_block(w.restart().handle(&input)).unwrap_err();
    assert_eq!(err.error_type(), "RestartRefused");
    assert!(w.flows.started.lock().unwrap().is_empty());
}

/// An SQS batch as the intake queue's event source mapping sends it.
fn sqs(bodies: &[(&str, String)]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id, "receiptHandle": "r", "body": body, "attributes": {},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:retry-intake", "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn an_intake_batch_decides_each_message_and_keeps_only_the_failed_ones() {
    let w = World::new();
    let good = event(FLOW, FAILED, "ONDEMAND", "Read timed out").to_string();
    let unknown_run = event(FLOW, "not-yet-recorded", "ONDEMAND", "Read timed out").to_string();
    let batch = sqs(&[
        ("m-1", good.clone()),
        ("m-2", "{not json".into()),
        ("m-3", unknown_run),
        ("m-4", good),
    ]);
    let messages = crate::sqs_batch(&batch).unwrap().unwrap();
    assert_eq!(messages.len(), 4);
    let reply = w.on_failure().handle_batch(messages, || false).await;
    let kept: Vec<&str> = reply.failures.iter().map(|f| f.item_identifier.as_str()).collect();
    // m-2 is not an event, m-3's run is not recorded yet: both come back (then the errors
    // queue); m-4 is m-1's duplicate, which is handled (nothing new started).
    assert_eq!(kept, ["m-2", "m-3"]);
    assert_eq!(w.machine.executions.lock().unwrap().len(), 1);
    assert_eq!(
        serde_json::to_value(&reply).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]})
    );
}

#[tokio::test]
async fn an_intake_batch_past_its_time_keeps_the_messages_not_started() {
    let w = World::new();
    let good = event(FLOW, FAILED, "ONDEMAND", "Read timed out").to_string();
    let batch = sqs(&[("m-1", good.clone()), ("m-2", good.clone()), ("m-3", good)]);
    let calls = std::cell::Cell::new(0);
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() > 1
    };
    let reply = w
        .on_failure()
        .handle_batch(crate::sqs_batch(&batch).unwrap().unwrap(), stop)
        .await;
    let kept: Vec<&str> = reply.failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(kept, ["m-2", "m-3"]);
    assert_eq!(w.machine.executions.lock().unwrap().len(), 1);
}

#[test]
fn an_intake_batch_envelope_is_checked_and_an_event_is_not_a_batch() {
    assert!(crate::sqs_batch(&event(FLOW, FAILED, "ONDEMAND", "x")).is_none());
    assert!(crate::sqs_batch(&json!([1])).is_none());
    // An event that happens to carry a Records field is still an event.
    let mut e = event(FLOW, FAILED, "ONDEMAND", "x");
    e["Records"] = json!([]);
    assert!(crate::sqs_batch(&e).is_none());
    let cases = [
        (json!({"Records": {}}), "Records"),
        (
            json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
            "Records[0].messageId",
        ),
        (
            json!({"Records": [{"messageId": "m", "eventSource": "aws:kinesis", "body": "{}"}]}),
            "Records[0].eventSource",
        ),
        (
            json!({"Records": [{"messageId": "m", "eventSource": "aws:sqs", "body": 3}]}),
            "Records[0].body",
        ),
    ];
    for (batch, field) in cases {
        let err = crate::sqs_batch(&batch).unwrap().unwrap_err();
        assert_eq!(err.field, field, "{batch}");
    }
    assert_eq!(crate::sqs_batch(&json!({"Records": []})).unwrap().unwrap(), vec![]);
}

// The intake queue against hostile and faulty input (from its red-team).

fn kept(reply: &crate::BatchReply) -> Vec<String> {
    reply.failures.iter().map(|f| f.item_identifier.clone()).collect()
}

#[tokio::test]
async fn intake_odd_bodies_are_kept_never_unwrapped_nor_recursed() {
    let w = World::new();
    let good = event(FLOW, FAILED, "ONDEMAND", "Read timed out");
    // A body that is itself an SQS batch holding a valid event.
    let nested = sqs(&[("inner", good.to_string())]).to_string();
    // Double-encoded JSON: a JSON string whose text is the event.
    let double = serde_json::to_string(&good.to_string()).unwrap();
    // SNS-wrapped (raw delivery off).
    let sns = json!({"Type": "Notification", "MessageId": "x", "Message": good.to_string()}).to_string();
    // Records beside an EventBridge envelope, inside a body: an event, handled.
    let mut mixed = good.clone();
    mixed["Records"] = json!([{"messageId": "z", "eventSource": "aws:sqs", "body": "{}"}]);
    // Huge (EventBridge's 256 KiB): the same event with 250 KiB of padding.
    let mut huge = good.clone();
    huge["detail"]["padding"] = json!("x".repeat(250 * 1024));
    let huge = huge.to_string();
    let batch = sqs(&[
        ("nested", nested),
        ("double", double),
        ("sns", sns),
        ("empty", String::new()),
        ("null", "null".into()),
        ("mixed", mixed.to_string()),
        ("huge", huge),
    ]);
    let reply = w
        .on_failure()
        .handle_batch(crate::sqs_batch(&batch).unwrap().unwrap(), || false)
        .await;
    assert_eq!(kept(&reply), ["nested", "double", "sns", "empty", "null"]);
    // mixed and huge are the same failed run: one execution.
    assert_eq!(w.machine.executions.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn intake_a_forged_run_is_kept_and_a_forged_flow_only_notifies() {
    let w = World::new();
    let other_flow = event("not-a-flow", FAILED, "ONDEMAND", "x").to_string();
    let forged_run = event(FLOW, "00000000-0000-0000-0000-000000000000", "ONDEMAND", "x").to_string();
    let batch = sqs(&[("a", other_flow), ("b", forged_run)]);
    let reply = w
        .on_failure()
        .handle_batch(crate::sqs_batch(&batch).unwrap().unwrap(), || false)
        .await;
    // A forged run of a real flow is refused (AppFlow's history is checked) and kept;
    // nothing is restarted. A forged flow name is "the flow no longer exists":
    // a skip execution that notifies (pre-existing; the queue is one more way in).
    assert_eq!(kept(&reply), ["b"]);
    assert!(w.flows.started.lock().unwrap().is_empty());
    let executions = w.machine.executions.lock().unwrap().clone();
    assert_eq!(executions.len(), 1);
    assert!(executions[0].1.contains("the flow no longer exists"));
}

#[tokio::test]
async fn intake_duplicate_message_ids_keep_the_message_if_any_copy_failed() {
    let w = World::new();
    let good = event(FLOW, FAILED, "ONDEMAND", "Read timed out").to_string();
    let batch = sqs(&[("m", good.clone()), ("m", "{bad".into()), ("m", good)]);
    let reply = w
        .on_failure()
        .handle_batch(crate::sqs_batch(&batch).unwrap().unwrap(), || false)
        .await;
    assert_eq!(kept(&reply), ["m"]);
}

#[tokio::test]
async fn intake_throttling_mid_batch_keeps_every_undecided_message() {
    for fault in ["ssm", "appflow", "sfn"] {
        let w = World::new();
        let e = PortError::Throttled("Rate exceeded".into());
        match fault {
            "ssm" => *w.store.fail.lock().unwrap() = Some(e),
            "appflow" => *w.flows.fail.lock().unwrap() = Some(e),
            _ => *w.machine.fail.lock().unwrap() = Some(e),
        }
        let good = event(FLOW, FAILED, "ONDEMAND", "Read timed out").to_string();
        let batch = sqs(&[("m-1", good.clone()), ("m-2", good)]);
        let reply = w
            .on_failure()
            .handle_batch(crate::sqs_batch(&batch).unwrap().unwrap(), || false)
            .await;
        assert_eq!(kept(&reply), ["m-1", "m-2"], "{fault}");
    }
}

#[tokio::test]
async fn intake_the_same_event_through_the_queue_and_redrive_at_once_starts_one_execution() {
    let w = World::new();
    let h = w.on_failure();
    let e = event(FLOW, FAILED, "ONDEMAND", "Read timed out");
    let batch = crate::sqs_batch(&sqs(&[("m", e.to_string())])).unwrap().unwrap();
    let (reply, direct) = tokio::join!(h.handle_batch(batch, || false), h.handle_any(&e));
    assert!(reply.failures.is_empty());
    direct.unwrap();
    assert_eq!(w.machine.executions.lock().unwrap().len(), 1);
}

#[test]
fn intake_what_the_intake_queue_moves_to_the_errors_queue_is_redrivable() {
    // SQS moves the message body unchanged: the raw EventBridge event.
    let body = event(FLOW, FAILED, "ONDEMAND", "Read timed out").to_string();
    let x = crate::redrive::extract(&body).unwrap();
    assert_eq!(x.shape, crate::redrive::Shape::Event);
    assert_eq!(
        x.cause, None,
        "nothing says why it was parked: the intake's error is only in the log"
    );
    // A body that can never be an event is refused by redrive (left in the queue, never deleted).
    for bad in ["{bad", "\"{}\"", "null", ""] {
        assert!(crate::redrive::extract(bad).is_err(), "{bad}");
    }
}
