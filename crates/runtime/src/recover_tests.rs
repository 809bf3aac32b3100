//! The on-failure handler with success reports (docs/design.md §4, recovery
//! rules), on in-memory ports.

use appflow_retry_policy::naming::{execution_name, flow_parameter};
use appflow_retry_policy::{Action, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::fakes::{Flows, PREFIX, Ports, record};
use crate::ports::PortError;
use crate::{OnFailureError, Reply};

const FLOW: &str = "salesforce-accounts";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn report(id: &str, status: &str, start: DateTime<Utc>) -> Value {
    json!({
        "version": "0", "id": "e", "source": "aws.appflow", "account": "123456789012",
        "detail-type": "AppFlow End Flow Run Report",
        "time": (start + TimeDelta::minutes(3)).to_rfc3339(),
        "region": "us-east-1", "resources": ["x"],
        "detail": {
            "flow-name": FLOW, "execution-id": id, "trigger-type": "ONDEMAND",
            "start-time": start.to_rfc3339(), "status": status,
            "num-of-records-processed": "0", "error": if status == "Execution Successful" { "" } else { "Read timed out" }
        }
    })
}

crate::fakes::test_world!();

impl World {
    /// A flow whose runs are `runs` (id, status, minutes after t0); the default policy's notify is `notify`.
    fn new(notify: &str, runs: &[(&str, RunStatus, i64)]) -> World {
        let w = World(Ports::new(
            Flows::default(),
            t0(),
            &format!("backoff: {{jitter: none}}\nnotify: {notify}\n"),
        ));
        w.set_runs(runs);
        w
    }

    fn set_runs(&self, runs: &[(&str, RunStatus, i64)]) {
        let records = runs
            .iter()
            .map(|(id, s, m)| record(id, s.clone(), t0() + TimeDelta::minutes(*m)))
            .collect();
        self.flows.add(FLOW, "OnDemand", records);
    }

    /// The failure `id` (started `m` minutes after t0) as the service handles it.
    async fn fail(&self, id: &str, m: i64) -> Action {
        *self.clock.0.lock().unwrap() = t0() + TimeDelta::minutes(m + 4);
        let out = self
            .on_failure()
            .handle(&report(id, "Execution Failed", t0() + TimeDelta::minutes(m)))
            .await
            .unwrap();
        out.decision.action
    }

    async fn succeed(&self, id: &str, m: i64) -> Result<crate::RecoveryOutput, OnFailureError> {
        *self.clock.0.lock().unwrap() = t0() + TimeDelta::minutes(m + 4);
        match self
            .on_failure()
            .handle_any(&report(id, "Execution Successful", t0() + TimeDelta::minutes(m)))
            .await?
        {
            Reply::Success(out) => Ok(out),
            Reply::Decided(d) => panic!("a success was decided as a failure: {d:?}"),
        }
    }

    fn executions(&self) -> Vec<(String, Value)> {
        self.machine
            .executions
            .lock()
            .unwrap()
            .iter()
            .map(|(n, i)| (n.clone(), serde_json::from_str(i).unwrap()))
            .collect()
    }
}

use RunStatus::{Error as E, Successful as S};

#[tokio::test]
async fn a_streak_that_recovers_after_restarts_notifies_once() {
    let w = World::new("[give_up, recovered]", &[("f1", E, 0)]);
    assert_eq!(w.fail("f1", 0).await, Action::Retry);
    w.set_runs(&[("f2", E, 10), ("f1", E, 0)]);
    assert_eq!(w.fail("f2", 10).await, Action::Retry);
    // The second restart succeeds.
    w.set_runs(&[("ok", S, 30), ("f2", E, 10), ("f1", E, 0)]);
    let out = w.succeed("ok", 30).await.unwrap();
    let started = out.recovered.expect("told");
    assert_eq!(started.execution, "started");
    assert_eq!(started.execution_name, execution_name(FLOW, "ok"));
    let d = &started.decision;
    assert_eq!((d.action, d.notify, d.attempt), (Action::Recovered, true, Some(2)));
    assert!(
        d.reason
            .starts_with("salesforce-accounts recovered after 2 restarts; down 32 min"),
        "{}",
        d.reason
    );
    let executions = w.executions();
    assert_eq!(executions.len(), 3);
    assert_eq!(executions[2].1["decision"]["action"], "recovered");
    assert_eq!(executions[2].1["flow_name"], FLOW);

    // Duplicate deliveries of the success event tell nothing new.
    for _ in 0..3 {
        let again = w.succeed("ok", 30).await.unwrap();
        assert_eq!(again.recovered.unwrap().execution, "already_exists");
    }
    assert_eq!(w.machine.executions.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_success_after_a_success_does_nothing() {
    let w = World::new("[recovered]", &[("ok", S, 30), ("s0", S, 0), ("f0", E, -60)]);
    let out = w.succeed("ok", 30).await.unwrap();
    assert!(out.recovered.is_none());
    assert!(out.reason.unwrap().contains("no failure streak ended"));
    assert!(w.executions().is_empty());
    assert_eq!(*w.machine.input_reads.lock().unwrap(), 0, "no execution looked up");
}

#[tokio::test]
async fn a_policy_that_does_not_ask_reads_no_history() {
    let w = World::new("[give_up, skip]", &[("f1", E, 0)]);
    assert_eq!(w.fail("f1", 0).await, Action::Retry);
    let reads = w.flows.record_calls();
    w.set_runs(&[("ok", S, 10), ("f1", E, 0)]);
    let h = w.on_failure();
    for i in 0..5 {
        w.clock.advance(TimeDelta::seconds(1));
        let Reply::Success(out) = h
            .handle_any(&report(
                &format!("ok{i}"),
                "Execution Successful",
                t0() + TimeDelta::minutes(10),
            ))
            .await
            .unwrap()
        else {
            panic!()
        };
        assert!(out.recovered.is_none());
    }
    assert_eq!(w.flows.record_calls(), reads, "no history read");
    assert_eq!(w.store.gets(), 2 + 2, "default + flow, cached per TTL");
    assert_eq!(w.store.reads(), 2, "one GetParameters call per TTL and handler");
    assert_eq!(*w.machine.input_reads.lock().unwrap(), 0);
    assert_eq!(w.executions().len(), 1);
}

#[tokio::test]
async fn a_success_after_a_give_up_says_so() {
    let w = World::new("[give_up, recovered]", &[("f1", E, 0)]);
    w.store.put(
        &flow_parameter(PREFIX, FLOW),
        &format!("flow: {FLOW}\nmax_retries: 1\n"),
    );
    assert_eq!(w.fail("f1", 0).await, Action::Retry);
    w.set_runs(&[("f2", E, 10), ("f1", E, 0)]);
    assert_eq!(w.fail("f2", 10).await, Action::GiveUp);
    // Someone fixed the source and ran it by hand, two hours later.
    w.set_runs(&[("manual", S, 130), ("f2", E, 10), ("f1", E, 0)]);
    let out = w.succeed("manual", 130).await.unwrap();
    let d = out.recovered.expect("told").decision;
    assert_eq!(d.action, Action::Recovered);
    assert!(
        d.reason.starts_with(
            "salesforce-accounts recovered after appflow-retry gave up on it (1 restart before): run manual succeeded on its own or was started by hand; down 2 h 12 min"
        ),
        "{}",
        d.reason
    );
}

#[tokio::test]
async fn a_streak_the_service_did_not_handle_tells_nothing() {
    // The failure's event never reached the service (no execution).
    let w = World::new("[recovered]", &[("ok", S, 30), ("f1", E, 0)]);
    let out = w.succeed("ok", 30).await.unwrap();
    assert!(out.reason.unwrap().contains("no state machine execution"));
    assert!(w.executions().is_empty());
    assert_eq!(*w.machine.input_reads.lock().unwrap(), 1, "the newest failure only");
}

#[tokio::test]
async fn no_facts_no_decision() {
    let w = World::new("[recovered]", &[("f1", E, 0)]);
    assert_eq!(w.fail("f1", 0).await, Action::Retry);
    w.set_runs(&[("ok", S, 10), ("f1", E, 0)]);
    *w.machine.fail.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let err = w.succeed("ok", 10).await.unwrap_err();
    assert_eq!(err.error_type(), "StateMachineUnavailable");
    *w.machine.fail.lock().unwrap() = None;
    *w.flows.fail.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let err = w.succeed("ok", 10).await.unwrap_err();
    assert_eq!(err.error_type(), "HistoryUnavailable");
}

#[tokio::test]
async fn a_failure_report_through_handle_any_is_decided_as_before() {
    let w = World::new("[recovered]", &[("f1", E, 0)]);
    let reply = w
        .on_failure()
        .handle_any(&report("f1", "Execution Failed", t0()))
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Decided(d) if d.decision.action == Action::Retry));
}
