//! The handlers' logic on in-memory ports.

use appflow_retry_policy::naming::{client_token, default_parameter, execution_name, flow_parameter};
use appflow_retry_policy::{Action, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::fakes::{FixedClock, Flows, Machine, Store, record};
use crate::ports::PortError;
use crate::{OnFailure, OnFailureError, PolicyCache, Restart, RestartError};

const PREFIX: &str = "/appflow-retry";
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

struct World {
    store: Store,
    flows: Flows,
    machine: Machine,
    clock: FixedClock,
}

impl World {
    fn new() -> World {
        let w = World {
            store: Store::default(),
            flows: Flows::default(),
            machine: Machine::default(),
            clock: FixedClock::at(t0() + TimeDelta::minutes(4)),
        };
        w.store.put(&default_parameter(PREFIX), "backoff: {jitter: none}\n");
        w.flows
            .add(FLOW, "OnDemand", vec![record(FAILED, RunStatus::Error, t0())]);
        w
    }

    fn on_failure(&self) -> OnFailure<&Store, &Flows, &Machine, &FixedClock> {
        OnFailure {
            policies: PolicyCache::new(&self.store, PREFIX, 60),
            appflow: &self.flows,
            state_machine: &self.machine,
            clock: &self.clock,
            max_history_pages: 3,
        }
    }

    fn restart(&self) -> Restart<&Store, &Flows, &FixedClock> {
        Restart {
            policies: PolicyCache::new(&self.store, PREFIX, 60),
            appflow: &self.flows,
            clock: &self.clock,
            max_history_pages: 3,
        }
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
async fn policies_cost_at_most_two_gets_per_flow_per_ttl() {
    let w = World::new();
    w.flows.add("other", "OnDemand", vec![]);
    let h = w.on_failure();
    for i in 0..10 {
        h.handle(&event(FLOW, &format!("id-{i}"), "ONDEMAND", "x"))
            .await
            .unwrap();
    }
    assert_eq!(
        w.store.gets(),
        2,
        "default + the flow, missing flow parameter cached too"
    );
    h.handle(&event("other", "o-1", "ONDEMAND", "x")).await.unwrap();
    assert_eq!(w.store.gets(), 3, "the default is shared");
    w.clock.advance(TimeDelta::seconds(61));
    h.handle(&event(FLOW, "id-x", "ONDEMAND", "x")).await.unwrap();
    assert_eq!(w.store.gets(), 5, "refetched after the TTL");
}

#[tokio::test]
async fn a_flow_parameter_is_used_and_a_broken_one_falls_back() {
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

    w.store.put(&param, "flow: sf-accounts\nmax_retries: [\n");
    let out = w
        .on_failure()
        .handle(&event(FLOW, "id-2", "ONDEMAND", "x"))
        .await
        .unwrap();
    assert_eq!(
        (out.decision.action, out.decision.policy.as_str()),
        (Action::Retry, "default")
    );
    assert_eq!(out.policy_problems.len(), 1);
    assert!(
        out.policy_problems[0].starts_with(&format!("{param}:3:1: invalid YAML")),
        "{:?}",
        out.policy_problems
    );
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

    let w = World::new();
    *w.machine.fail.lock().unwrap() = Some(PortError::Failed("AccessDenied".into()));
    let err = w
        .on_failure()
        .handle(&event(FLOW, FAILED, "ONDEMAND", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "StateMachineUnavailable");
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

#[tokio::test]
async fn history_reading_stops_at_the_page_bound() {
    let flows = Flows {
        page_size: 2,
        ..Flows::default()
    };
    let records: Vec<_> = (0..10)
        .map(|i| record(&format!("r{i}"), RunStatus::Error, t0() - TimeDelta::minutes(i + 1)))
        .collect();
    flows.add(FLOW, "OnDemand", records);
    let got = crate::history::read_history(&flows, FLOW, 3).await.unwrap();
    assert_eq!(got.len(), 6);
    assert_eq!(flows.record_calls(), 3);
}

fn restart_input(w: &World) -> Value {
    let out = futures_block(
        w.on_failure()
            .handle(&event(FLOW, FAILED, "ONDEMAND", "Read timed out")),
    );
    json!({ "flow_name": FLOW, "execution_id": FAILED, "decision": out.unwrap().decision })
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
        (out.outcome, out.new_execution_id.as_deref()),
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
                w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().1.push(record(
                    "later",
                    RunStatus::Successful,
                    t0() + TimeDelta::minutes(1),
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
        assert_eq!(out.outcome, "skipped", "{name}");
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
