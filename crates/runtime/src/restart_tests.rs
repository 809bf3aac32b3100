//! The restart re-decides from facts it reads (docs/design.md §5.6, §6.7,
//! §6.8): forged retries and re-activations start nothing; real ones still do.

use appflow_retry_policy::naming::{client_token, execution_name, flow_parameter};
use appflow_retry_policy::{Action, RunStatus, format_time};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::fakes::{Flows, PREFIX, Ports, record};

mod queue;
mod queue_redteam;
mod redteam;

const FLOW: &str = "sf-accounts";
const FAILED: &str = "9aa00099-9943-449a-9c7a-488dbc801242";
const TIMEOUT: &str = "Read timed out";
const AUTH: &str = "INVALID_SESSION_ID: Session expired or invalid";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T09:02:47Z")
        .unwrap()
        .with_timezone(&Utc)
}

crate::fakes::test_world!();

impl World {
    /// An on-demand flow whose run FAILED started at t0, failed with
    /// `message` and ended at t0 + 2 min; older runs as given. The clock is
    /// t0 + 4 min, when on-failure decides and the execution starts.
    fn failed_with(message: Option<&str>, older: Vec<appflow_retry_policy::RunRecord>) -> World {
        let w = Ports::new(
            Flows::default(),
            t0() + TimeDelta::minutes(4),
            "backoff: {jitter: none}\n",
        );
        let mut failed = record(FAILED, RunStatus::Error, t0());
        failed.message = message.map(str::to_owned);
        let mut runs = vec![failed];
        runs.extend(older);
        w.flows.add(FLOW, "OnDemand", runs);
        World(w)
    }

    fn started(&self) -> Vec<(String, String)> {
        self.flows.started.lock().unwrap().clone()
    }
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn failure_event(message: &str) -> Value {
    json!({
        "version": "0", "id": "e", "source": "aws.appflow", "account": "123456789012",
        "detail-type": "AppFlow End Flow Run Report", "time": "2026-11-29T09:04:47Z",
        "region": "us-east-1", "resources": ["x"],
        "detail": {
            "flow-name": FLOW, "execution-id": FAILED, "trigger-type": "ONDEMAND",
            "start-time": "2026-11-29T09:02:47.000Z[UTC]", "status": "Execution Failed",
            "num-of-records-processed": "0", "error": message
        }
    })
}

/// The Restart task's payload for the decision on-failure makes now.
fn real_input(w: &World, message: &str) -> Value {
    let out = block(w.on_failure().handle(&failure_event(message))).unwrap();
    input_for(
        &serde_json::to_value(&out.decision).unwrap(),
        t0() + TimeDelta::minutes(4),
    )
}

fn input_for(decision: &Value, started: DateTime<Utc>) -> Value {
    let id = decision["execution_id"].as_str().unwrap();
    let flow = decision["flow"].as_str().unwrap();
    json!({
        "flow_name": flow, "execution_id": id, "decision": decision,
        "execution_name": execution_name(flow, id),
        "execution_started_at": format_time(started),
    })
}

/// What an attacker starts under the derived name while the run still
/// runs: a plausible retry decision (the one a timeout would get).
fn forged_retry(delay: u64, attempt: u32) -> Value {
    let decision = json!({
        "flow": FLOW, "execution_id": FAILED, "failed_run_started_at": "2026-11-29T09:02:47Z",
        "policy": "default", "error_class": "timeout", "attempt": attempt, "max_retries": 3,
        "action": "retry", "delay_seconds": delay, "reason": "restart", "notify_on": [],
        "notify": false,
    });
    let mut input = input_for(&decision, t0() + TimeDelta::minutes(4));
    input["error_message"] = json!(TIMEOUT);
    input
}

#[test]
fn a_forged_retry_for_a_run_that_failed_with_an_auth_error_is_skipped_and_told() {
    // The policy tells nobody about skips: this one is told all the same.
    let w = World::failed_with(Some(AUTH), vec![]);
    w.store
        .put(&flow_parameter(PREFIX, FLOW), "flow: sf-accounts\nnotify: []\n");
    let out = block(w.restart().handle(&forged_retry(120, 1))).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    for needle in [
        "on-failure's input says retry 1/3 after 120s",
        "re-decided",
        ": skip (error class auth is in skip_errors",
    ] {
        assert!(out.reason.contains(needle), "{needle:?} in {}", out.reason);
    }
    assert!(w.started().is_empty(), "nothing started");
}

#[test]
fn an_execution_started_before_the_run_ended_is_refused() {
    // The run ended at t0 + 2 min; on-failure decides only after that.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let mut input = forged_retry(120, 1);
    input["execution_started_at"] = json!(format_time(t0() + TimeDelta::minutes(1)));
    let err = block(w.restart().handle(&input)).unwrap_err();
    assert_eq!(err.error_type(), "RestartRefused", "{err}");
    assert!(err.to_string().contains("before the failed run"), "{err}");
    assert!(w.started().is_empty());
}

#[test]
fn a_missing_or_unreadable_start_time_is_refused() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    for value in [Value::Null, json!("yesterday"), json!("")] {
        let mut input = real_input(&w, TIMEOUT);
        if value.is_null() {
            input.as_object_mut().unwrap().remove("execution_started_at");
        } else {
            input["execution_started_at"] = value.clone();
        }
        let err = block(w.restart().handle(&input)).unwrap_err();
        assert_eq!(err.error_type(), "RestartRefused", "{value}: {err}");
        assert!(err.to_string().contains("execution_started_at"), "{err}");
    }
    assert!(w.started().is_empty());
}

#[test]
fn a_forged_long_delay_or_attempt_is_skipped() {
    // A real timeout, so the rules do say retry 1/3 after 120 s (6 h window).
    for (name, input, needle) in [
        (
            "a wait past the window",
            forged_retry(7 * 3600, 1),
            "the input's wait of 25200s is not the policy's 120s",
        ),
        (
            "another attempt",
            forged_retry(120, 2),
            "input says retry 2/3 after 120s; re-decided",
        ),
    ] {
        let w = World::failed_with(Some(TIMEOUT), vec![]);
        let out = block(w.restart().handle(&input)).unwrap();
        assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{name}: {out:?}");
        assert!(out.reason.contains(needle), "{name}: {}", out.reason);
        assert!(out.reason.contains("re-decided"), "{name}: {}", out.reason);
        assert!(w.started().is_empty(), "{name}");
    }
}

#[test]
fn the_inputs_message_and_class_do_not_change_the_answer() {
    // The input says timeout; the run's record says auth: the record wins.
    let w = World::failed_with(Some(AUTH), vec![]);
    let mut input = forged_retry(120, 1);
    input["error_message"] = json!(TIMEOUT);
    input["decision"]["error_class"] = json!("timeout");
    input["decision"]["reason"] = json!("restart 1 of 3 for class timeout");
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!(out.outcome.as_str(), "skipped");
    assert!(w.started().is_empty());

    // The same input for a run that did time out: restarted.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!(out.outcome.as_str(), "restarted", "{out:?}");
}

#[test]
fn a_record_without_a_message_is_not_restarted() {
    // The event said timeout; the record carries no message: no class from the facts.
    let w = World::failed_with(None, vec![]);
    let input = real_input(&w, TIMEOUT);
    assert_eq!(input["decision"]["action"], "retry");
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true));
    assert!(out.reason.contains("no executionMessage"), "{}", out.reason);
    assert!(w.started().is_empty());
}

#[test]
fn real_decisions_are_reproduced_and_restarted() {
    // Attempt 2: one failure before, 30 min earlier (exponential backoff: 240 s).
    let older = record("older", RunStatus::Error, t0() - TimeDelta::minutes(30));
    let w = World::failed_with(Some(TIMEOUT), vec![older]);
    let input = real_input(&w, TIMEOUT);
    assert_eq!(
        (
            input["decision"]["action"].as_str(),
            input["decision"]["attempt"].as_u64()
        ),
        (Some("retry"), Some(2))
    );
    w.clock
        .advance(TimeDelta::seconds(input["decision"]["delay_seconds"].as_i64().unwrap()));
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!(out.outcome.as_str(), "restarted", "{out:?}");
    assert_eq!(w.started(), vec![(FLOW.to_owned(), client_token(FAILED))]);

    // A run that was still running when on-failure decided, and failed during the wait,
    // does not change the attempt: the history is taken as of the execution's start.
    let mut running = record("running", RunStatus::Error, t0() - TimeDelta::minutes(1));
    running.last_updated_at = Some(t0() + TimeDelta::minutes(5));
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = real_input(&w, TIMEOUT);
    assert_eq!(input["decision"]["attempt"], 1);
    w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().1.push(running);
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!(out.outcome.as_str(), "restarted", "{out:?}");
}

#[test]
fn a_policy_edited_during_the_wait_is_obeyed_and_both_answers_named() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = real_input(&w, TIMEOUT);
    w.store.put(
        &flow_parameter(PREFIX, FLOW),
        "flow: sf-accounts\nmax_retries: 0\nnotify: []\n",
    );
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(out.reason.contains("input says retry 1/3"), "{}", out.reason);
    assert!(out.reason.contains(": give_up 1/0"), "{}", out.reason);
    assert!(w.started().is_empty());

    // A superseding run that started before the execution: the rules say skip.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = real_input(&w, TIMEOUT);
    w.flows.flows.lock().unwrap().get_mut(FLOW).unwrap().1.push(record(
        "by-hand",
        RunStatus::Successful,
        t0() + TimeDelta::minutes(3),
    ));
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(out.reason.contains("superseded"), "{}", out.reason);
    assert!(w.started().is_empty());
}

// ---- Re-activations (issue: a forged `reactivate` for a flow a person stopped)

const NIGHTLY: &str = "nightly-orders";
const REACTIVATE: &str = "reactivate: {enabled: true, backoff: {jitter: none}}\nnotify: [give_up, skip, reactivate]\n";

fn deactivated_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T09:06:21Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A scheduled flow (threshold 3), `Suspended`, with `runs`, whose policy
/// enables re-activation. The clock is 09:07:00.
fn stopped_world(runs: Vec<appflow_retry_policy::RunRecord>) -> World {
    let w = Ports::new(
        Flows::default(),
        t0() + TimeDelta::minutes(4) + TimeDelta::seconds(13),
        "backoff: {jitter: none}\n",
    );
    w.store.put(
        &flow_parameter(PREFIX, NIGHTLY),
        &format!("flow: {NIGHTLY}\n{REACTIVATE}"),
    );
    w.flows.add(NIGHTLY, "Scheduled", runs);
    w.flows.set_status(NIGHTLY, "Suspended");
    World(w)
}

fn hourly(status: RunStatus, n: i64, message: Option<&str>) -> Vec<appflow_retry_policy::RunRecord> {
    (1..=n)
        .map(|i| {
            // The newest ends just before the deactivation: AppFlow deactivates right after it.
            let mut r = record(&format!("run-{i}"), status.clone(), t0() - TimeDelta::hours(i - 1));
            r.message = message.map(str::to_owned);
            r
        })
        .collect()
}

/// A `reactivate` input as a holder of states:StartExecution writes it.
fn forged_reactivation(id: &str, at: DateTime<Utc>, attempt: u32, started: DateTime<Utc>) -> Value {
    let decision = json!({
        "flow": NIGHTLY, "execution_id": id, "failed_run_started_at": format_time(at),
        "policy": "default", "error_class": "timeout", "attempt": attempt, "max_retries": 3,
        "action": "reactivate", "delay_seconds": 300, "reason": "re-activation",
        "notify_on": ["reactivate"], "notify": true,
    });
    input_for(&decision, started)
}

fn started_at() -> DateTime<Utc> {
    deactivated_at() + TimeDelta::seconds(39)
}

#[test]
fn a_forged_reactivation_of_a_flow_a_person_stopped_is_skipped() {
    // Every run succeeded; a person stopped the flow.
    let w = stopped_world(hourly(RunStatus::Successful, 3, None));
    let id = appflow_retry_policy::deactivation_id_at(deactivated_at());
    let out = block(
        w.restart()
            .handle(&forged_reactivation(&id, deactivated_at(), 1, started_at())),
    )
    .unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(
        out.reason.contains("no failed run precedes the deactivation"),
        "{}",
        out.reason
    );
    assert_eq!(out.flow_status.as_deref(), Some("Suspended"));
    assert!(w.started().is_empty(), "the flow stays off");
    assert_eq!(w.flows.status(NIGHTLY).as_deref(), Some("Suspended"));
}

#[test]
fn a_reactivation_id_that_is_not_the_deactivations_is_skipped() {
    let w = stopped_world(hourly(RunStatus::Error, 3, Some(TIMEOUT)));
    for id in [
        "deactivated-0123456789abcdef".to_owned(),
        "deactivated-20261129T090000Z".to_owned(),
        "anything".to_owned(),
    ] {
        let out = block(
            w.restart()
                .handle(&forged_reactivation(&id, deactivated_at(), 1, started_at())),
        )
        .unwrap();
        assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{id}: {out:?}");
        assert!(
            out.reason.contains("is not the deactivation id"),
            "{id}: {}",
            out.reason
        );
    }
    assert!(w.started().is_empty());
}

#[test]
fn a_reactivation_started_before_its_deactivation_is_refused() {
    let w = stopped_world(hourly(RunStatus::Error, 3, Some(TIMEOUT)));
    let id = appflow_retry_policy::deactivation_id_at(deactivated_at());
    let early = deactivated_at() - TimeDelta::seconds(1);
    let err = block(
        w.restart()
            .handle(&forged_reactivation(&id, deactivated_at(), 1, early)),
    )
    .unwrap_err();
    assert_eq!(err.error_type(), "RestartRefused", "{err}");
    assert!(w.started().is_empty());
}

#[test]
fn a_reactivation_the_rules_no_longer_give_is_skipped() {
    let id = appflow_retry_policy::deactivation_id_at(deactivated_at());
    // The failures were auth errors (skip_errors): the rules leave the flow off.
    let w = stopped_world(hourly(RunStatus::Error, 3, Some(AUTH)));
    let out = block(
        w.restart()
            .handle(&forged_reactivation(&id, deactivated_at(), 1, started_at())),
    )
    .unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(
        out.reason.contains("input says reactivate 1/3 after 300s; re-decided"),
        "{}",
        out.reason
    );
    assert!(out.reason.contains("skip_errors"), "{}", out.reason);
    assert!(w.started().is_empty());

    // Six failures at threshold 3 are the second deactivation: attempt 1 is not this one's.
    let runs = (1..=6)
        .map(|i| {
            let mut r = record(
                &format!("run-{i}"),
                RunStatus::Error,
                t0() - TimeDelta::minutes(30 * (i - 1)),
            );
            r.message = Some(TIMEOUT.into());
            r
        })
        .collect();
    let w = stopped_world(runs);
    let out = block(
        w.restart()
            .handle(&forged_reactivation(&id, deactivated_at(), 1, started_at())),
    )
    .unwrap();
    assert_eq!(out.outcome.as_str(), "skipped", "{out:?}");
    assert!(out.reason.contains("re-decided"), "{}", out.reason);
    assert!(out.reason.contains(": reactivate 2/3"), "{}", out.reason);
    assert!(w.started().is_empty());

    // A wait that would end past the window.
    let w = stopped_world(hourly(RunStatus::Error, 3, Some(TIMEOUT)));
    let mut input = forged_reactivation(&id, deactivated_at(), 1, started_at());
    input["decision"]["delay_seconds"] = json!(7 * 3600);
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!(out.outcome.as_str(), "skipped", "{out:?}");
    assert!(
        out.reason.contains("the input's wait of 25200s is not the policy's"),
        "{}",
        out.reason
    );
    assert!(w.started().is_empty());
}

/// AppFlow's event for NIGHTLY's automatic deactivation at 09:06:21.
fn nightly_deactivated() -> Value {
    json!({
        "version": "0", "id": "6f0e1c2a-0000-4000-8000-000000000001", "source": "aws.appflow",
        "account": "123456789012", "detail-type": "AppFlow Scheduled Flow Deactivated",
        "time": "2026-11-29T09:06:21Z", "region": "us-east-1", "resources": [],
        "detail": {"flow-name": NIGHTLY, "deactivation-reason": "3 consecutive failures: Read timed out"}
    })
}

#[test]
fn a_deactivated_flow_reported_errored_is_reactivated_too() {
    // Which status an automatic deactivation leaves is undocumented:
    // `Errored` is re-activated like `Suspended`; `Active` and `Draft` are not.
    for (status, outcome) in [("Errored", "reactivated"), ("Active", "skipped"), ("Draft", "skipped")] {
        let w = stopped_world(hourly(RunStatus::Error, 3, Some(TIMEOUT)));
        w.flows.set_status(NIGHTLY, status);
        let event = nightly_deactivated();
        let out = block(w.on_failure().handle(&event)).unwrap();
        assert_eq!(out.decision.action, Action::Reactivate);
        let input = input_for(&serde_json::to_value(&out.decision).unwrap(), started_at());
        let out = block(w.restart().handle(&input)).unwrap();
        assert_eq!(out.outcome.as_str(), outcome, "{status}: {out:?}");
        assert_eq!(w.started().len(), usize::from(outcome == "reactivated"), "{status}");
    }
}

#[test]
fn a_real_deactivation_is_still_reactivated() {
    let w = stopped_world(hourly(RunStatus::Error, 3, Some(TIMEOUT)));
    let event = nightly_deactivated();
    let out = block(w.on_failure().handle(&event)).unwrap();
    assert_eq!(out.decision.action, Action::Reactivate);
    let input = input_for(&serde_json::to_value(&out.decision).unwrap(), started_at());
    let out = block(w.restart().handle(&input)).unwrap();
    assert_eq!(out.outcome.as_str(), "reactivated", "{out:?}");
    assert_eq!(
        w.started(),
        vec![(NIGHTLY.to_owned(), client_token("deactivated-20261129T090621Z"))]
    );
}
