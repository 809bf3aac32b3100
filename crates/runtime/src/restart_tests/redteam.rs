//! Red-team tests of the restart's re-decision (issue 16 items 1 and 2): a
//! holder of states:StartExecution (who can also read the flow's history)
//! tries to get a flow restarted or re-activated that the policy forbids, or
//! to suppress a legitimate restart; plus faults, clock edges, races and odd
//! inputs. Each test asserts the fail-closed, nothing-lost answer; the
//! bugs they found are fixed (docs/design.md §5.6, §6.8).

use appflow_retry_policy::deactivation_id_at;

use super::*;
use crate::ports::PortError;

impl World {
    fn runs_mut<R>(&self, flow: &str, f: impl FnOnce(&mut Vec<appflow_retry_policy::RunRecord>) -> R) -> R {
        f(&mut self.flows.flows.lock().unwrap().get_mut(flow).unwrap().1)
    }
}

/// on-failure's real decision for the failure, as the execution's input holds it.
fn real_decision(w: &World) -> Value {
    let out = block(w.on_failure().handle(&failure_event(TIMEOUT))).unwrap();
    serde_json::to_value(&out.decision).unwrap()
}

/// What an attacker writes: a plausible retry decision for the timeout.
fn forged(delay: u64, attempt: Value, notify_on: Value) -> Value {
    json!({
        "flow": FLOW, "execution_id": FAILED, "failed_run_started_at": "2026-11-29T09:02:47Z",
        "policy": "default", "error_class": "timeout", "attempt": attempt, "max_retries": 3,
        "action": "retry", "delay_seconds": delay, "reason": "restart", "notify_on": notify_on,
        "notify": false,
    })
}

fn handle(w: &World, input: &Value) -> Result<crate::restart::RestartOutput, crate::restart::RestartError> {
    block(w.restart().handle(input))
}

// ---------------------------------------------------------------- retries

#[test]
fn redteam_forged_zero_delay_is_skipped_not_a_restart_without_backoff() {
    // An attacker who wins the race for the derived name after the run ended starts a
    // retry with delay 0 to skip the policy's backoff (120 s here). The delay depends
    // only on the attempt, the policy and the execution id's seed: the re-decision's
    // differs, so the restart is skipped and told, naming both.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let legit = real_decision(&w);
    assert_eq!(legit["delay_seconds"], 120, "{legit}");
    let input = input_for(&forged(0, json!(1), json!([])), t0() + TimeDelta::minutes(4));
    let out = handle(&w, &input).unwrap();
    assert_eq!(
        out.outcome.as_str(),
        "skipped",
        "a wait shorter than the policy's backoff must not restart: {out:?}"
    );
    assert!(out.notify, "{out:?}");
    assert!(
        out.reason.contains("wait of 0s is not the policy's 120s"),
        "{}",
        out.reason
    );
    assert!(w.started().is_empty());
}

#[test]
fn redteam_forged_longer_delay_inside_the_window_is_skipped() {
    // A delay of 5 h 50 min instead of 120 s ends inside the 6 h window, but is not the
    // policy's: skipped and told, not a restart postponed at will.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = input_for(
        &forged(5 * 3600 + 50 * 60, json!(1), json!([])),
        t0() + TimeDelta::minutes(4),
    );
    let out = handle(&w, &input).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(out.reason.contains("is not the policy's 120s"), "{}", out.reason);
    assert!(w.started().is_empty());
}

#[test]
fn redteam_forged_notify_on_does_not_silence_a_restart_the_policy_says_to_tell() {
    // The policy says tell every retry; the forged input's notify_on says tell nothing:
    // the restart's `notify` follows the current policy. (The Route's NotifyRetry, driven
    // by the input's `decision.notify` before the Lambda runs, is the one message a forger
    // can silence or cause: README's security section.)
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    w.store.put(
        &flow_parameter(PREFIX, FLOW),
        "flow: sf-accounts\nnotify: [retry, skip, give_up]\n",
    );
    let legit = real_decision(&w);
    assert_eq!(legit["notify"], true);
    let mut d = legit.clone();
    d["notify_on"] = json!([]);
    d["notify"] = json!(false);
    let out = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4))).unwrap();
    assert_eq!(out.outcome.as_str(), "restarted");
    assert!(out.notify, "the policy's notify must decide, not the input's: {out:?}");
}

#[test]
fn redteam_forged_notify_on_does_not_silence_the_disabled_skip() {
    // With the policy's notify: [skip], a skip for "retries disabled" is told whatever the
    // input's notify_on says.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    w.store.put(
        &flow_parameter(PREFIX, FLOW),
        "flow: sf-accounts\nenabled: false\nnotify: [skip]\n",
    );
    let input = input_for(&forged(120, json!(1), json!([])), t0() + TimeDelta::minutes(4));
    let out = handle(&w, &input).unwrap();
    assert_eq!(out.outcome.as_str(), "skipped");
    assert!(w.started().is_empty());
    assert!(out.notify, "the policy's notify has skip: {out:?}");
}

#[test]
fn redteam_attempts_zero_huge_or_missing_are_skipped() {
    for attempt in [json!(0), json!(u32::MAX), Value::Null] {
        let w = World::failed_with(Some(TIMEOUT), vec![]);
        let input = input_for(&forged(120, attempt.clone(), json!([])), t0() + TimeDelta::minutes(4));
        let out = handle(&w, &input).unwrap();
        assert_eq!(
            (out.outcome.as_str(), out.notify),
            ("skipped", true),
            "{attempt}: {out:?}"
        );
        assert!(w.started().is_empty(), "{attempt}");
    }
}

#[test]
fn redteam_huge_delays_are_skipped_not_overflowed() {
    for delay in [u64::MAX, i64::MAX as u64, 100 * 365 * 86_400] {
        let w = World::failed_with(Some(TIMEOUT), vec![]);
        let input = input_for(&forged(delay, json!(1), json!([])), t0() + TimeDelta::minutes(4));
        let out = handle(&w, &input).unwrap();
        assert_eq!(
            (out.outcome.as_str(), out.notify),
            ("skipped", true),
            "{delay}: {out:?}"
        );
        assert!(w.started().is_empty());
    }
}

#[test]
fn redteam_unknown_class_and_a_wrong_reason_do_not_matter() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let mut d = forged(120, json!(1), json!([]));
    d["error_class"] = json!("no-such-class");
    d["policy"] = json!("flows/another");
    d["max_retries"] = json!(99);
    let out = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4))).unwrap();
    // The re-decision gives retry 1/3 after 120 s: the class name in the input is ignored.
    assert_eq!(out.outcome.as_str(), "restarted", "{out:?}");
}

#[test]
fn redteam_a_decision_for_another_flow_is_refused() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    w.flows.add("other", "OnDemand", vec![]);
    let d = forged(120, json!(1), json!([]));
    let mut input = input_for(&d, t0() + TimeDelta::minutes(4));
    input["flow_name"] = json!("other");
    input["execution_name"] = json!(execution_name("other", FAILED));
    let err = handle(&w, &input).unwrap_err();
    assert_eq!(err.error_type(), "RestartRefused", "{err}");
    // The other way round: the other flow's derived name, this flow's decision.
    let mut input = input_for(&d, t0() + TimeDelta::minutes(4));
    input["execution_name"] = json!(execution_name("other", FAILED));
    assert_eq!(handle(&w, &input).unwrap_err().error_type(), "RestartRefused");
    assert!(w.started().is_empty());
}

#[test]
fn redteam_start_time_formats_and_extremes() {
    // Another zone for the same instant: the same answer as UTC.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let mut input = input_for(&real_decision(&w), t0() + TimeDelta::minutes(4));
    input["execution_started_at"] = json!("2026-11-29T10:06:47.000+01:00");
    let zoned = handle(&w, &input);
    eprintln!("+01:00 start: {zoned:?}");
    assert!(
        zoned.as_ref().is_ok_and(|o| o.outcome.as_str() == "restarted")
            || zoned.as_ref().is_err_and(|e| e.error_type() == "RestartRefused"),
        "either restarts or refuses, never anything else: {zoned:?}"
    );
    // Far past: before the run ended.
    for text in ["1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z"] {
        let w = World::failed_with(Some(TIMEOUT), vec![]);
        let mut input = input_for(&real_decision(&w), t0());
        input["execution_started_at"] = json!(text);
        let err = handle(&w, &input).unwrap_err();
        assert_eq!(err.error_type(), "RestartRefused", "{text}: {err}");
        assert!(w.started().is_empty());
    }
    // Far future: the wait ends past the window.
    for text in ["2099-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
        let w = World::failed_with(Some(TIMEOUT), vec![]);
        let mut input = input_for(&real_decision(&w), t0());
        input["execution_started_at"] = json!(text);
        let out = handle(&w, &input);
        assert!(
            out.as_ref().is_err_and(|e| e.error_type() == "RestartRefused")
                || out.as_ref().is_ok_and(|o| o.outcome.as_str() == "skipped"),
            "{text}: {out:?}"
        );
        assert!(w.started().is_empty(), "{text}");
    }
    // A number, an epoch in ms, a string with a zone name.
    for value in [
        json!(1_764_406_967_000_i64),
        json!("1764406967"),
        json!("2026-11-29T09:06:47Z[UTC]"),
    ] {
        let w = World::failed_with(Some(TIMEOUT), vec![]);
        let mut input = input_for(&real_decision(&w), t0());
        input["execution_started_at"] = value.clone();
        let out = handle(&w, &input);
        eprintln!("{value}: {out:?}");
        assert!(
            out.as_ref().is_err() || out.as_ref().is_ok_and(|o| o.outcome.as_str() == "restarted"),
            "{value}: {out:?}"
        );
    }
}

#[test]
fn redteam_start_exactly_at_the_runs_end_and_a_millisecond_before() {
    let ended = t0() + TimeDelta::minutes(2);
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    let out = handle(&w, &input_for(&d, ended)).unwrap();
    assert_eq!(out.outcome.as_str(), "restarted", "at the end itself: {out:?}");
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    let mut input = input_for(&d, ended);
    input["execution_started_at"] = json!("2026-11-29T09:04:46.999Z");
    let err = handle(&w, &input).unwrap_err();
    assert_eq!(err.error_type(), "RestartRefused", "{err}");
    assert!(w.started().is_empty());
    // A millisecond after: restarted.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    let mut input = input_for(&d, ended);
    input["execution_started_at"] = json!("2026-11-29T09:04:47.001Z");
    assert_eq!(handle(&w, &input).unwrap().outcome.as_str(), "restarted");
}

#[test]
fn redteam_a_wait_ending_one_second_past_the_window_end() {
    // Window 6 h from the streak's start t0; execution at t0 + 4 min. The forged delay is
    // not the policy's, which is enough to skip it.
    let exact = 6 * 3600 - 4 * 60;
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let out = handle(
        &w,
        &input_for(&forged(exact + 1, json!(1), json!([])), t0() + TimeDelta::minutes(4)),
    )
    .unwrap();
    assert_eq!(
        (out.outcome.as_str(), out.notify),
        ("skipped", true),
        "one second past: {out:?}"
    );
    assert!(out.reason.contains("is not the policy's 120s"), "{}", out.reason);
    assert!(w.started().is_empty());
}

#[test]
fn redteam_a_record_without_a_start_time_and_a_forged_failed_run_time() {
    // AppFlow's record lacks startedAt; the attacker writes a far-future
    // failed_run_started_at so that the newer-run checks look past every real run.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    w.runs_mut(FLOW, |runs| {
        runs[0].started_at = None;
        runs.push(record("by-hand", RunStatus::Successful, t0() + TimeDelta::minutes(3)));
    });
    let mut d = forged(120, json!(1), json!([]));
    d["failed_run_started_at"] = json!("2099-01-01T00:00:00Z");
    let out = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4)));
    eprintln!("{out:?}");
    assert!(
        out.as_ref().is_err() || out.as_ref().is_ok_and(|o| o.outcome.as_str() == "skipped"),
        "superseded by a successful run: nothing may start: {out:?}"
    );
    assert!(w.started().is_empty());
}

#[test]
fn redteam_a_record_without_any_time_is_refused() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    w.runs_mut(FLOW, |runs| {
        runs[0].started_at = None;
        runs[0].last_updated_at = None;
    });
    let err = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4))).unwrap_err();
    assert_eq!(err.error_type(), "RestartRefused", "{err}");
    assert!(w.started().is_empty());
}

#[test]
fn redteam_faults_fail_closed() {
    // Policy unreadable: an error the state machine retries, nothing started.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    *w.store.fail.lock().unwrap() = Some(PortError::Unavailable("ssm down".into()));
    let err = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4))).unwrap_err();
    assert_eq!(err.error_type(), "PolicyUnavailable", "{err}");
    // AppFlow unavailable (history pages missing).
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    *w.flows.fail.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let err = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4))).unwrap_err();
    assert_eq!(err.error_type(), "AppFlowUnavailable", "{err}");
    assert!(w.started().is_empty());
    // The failed run is beyond the page bound: HistoryIncomplete, not a restart.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    w.runs_mut(FLOW, |runs| {
        let failed = runs.remove(0);
        for i in 0..400 {
            runs.push(record(
                &format!("old-{i}"),
                RunStatus::Successful,
                t0() - TimeDelta::minutes(i + 10),
            ));
        }
        runs.push(failed);
    });
    let out = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4)));
    assert!(out.is_err(), "{out:?}");
    assert!(w.started().is_empty());
}

#[test]
fn redteam_history_in_any_order_gives_the_same_answer() {
    let mk = |reverse: bool| {
        let w = World::failed_with(Some(TIMEOUT), vec![]);
        w.runs_mut(FLOW, |runs| {
            for i in 1..=2 {
                let mut r = record(
                    &format!("older-{i}"),
                    RunStatus::Error,
                    t0() - TimeDelta::minutes(20 * i),
                );
                r.message = Some(TIMEOUT.into());
                runs.push(r);
            }
            if reverse {
                runs.reverse();
            }
        });
        w
    };
    let w = mk(false);
    let d = real_decision(&w);
    assert_eq!(d["attempt"], 3, "{d}");
    let a = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4))).unwrap();
    let w = mk(true);
    let b = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4))).unwrap();
    assert_eq!((a.outcome.as_str(), &a.reason), (b.outcome.as_str(), &b.reason));
    assert_eq!(a.outcome.as_str(), "restarted");
}

#[test]
fn redteam_lost_startflow_reply_then_a_retried_restart_25_minutes_later() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    let input = input_for(&d, t0() + TimeDelta::minutes(4));
    w.clock.advance(TimeDelta::seconds(120));
    let first = handle(&w, &input).unwrap();
    assert_eq!(first.outcome.as_str(), "restarted");
    // The reply was lost, but AppFlow started the run; it shows up in the history.
    w.runs_mut(FLOW, |runs| {
        runs.push(record("new-1", RunStatus::InProgress, t0() + TimeDelta::minutes(6)))
    });
    w.clock.advance(TimeDelta::minutes(25));
    let again = handle(&w, &input).unwrap();
    assert_eq!(again.outcome.as_str(), "restarted", "{again:?}");
    assert_eq!(again.new_execution_id.as_deref(), Some("new-1"));
    assert_eq!(
        w.started(),
        vec![(FLOW.to_owned(), client_token(FAILED))],
        "one StartFlow"
    );
}

#[test]
fn redteam_a_newer_run_during_the_wait_and_a_late_event() {
    // A person re-ran the flow during the wait: the restart is skipped.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    w.runs_mut(FLOW, |runs| {
        runs.push(record("by-hand", RunStatus::InProgress, t0() + TimeDelta::minutes(5)))
    });
    w.clock.advance(TimeDelta::seconds(120));
    let out = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4))).unwrap();
    assert_eq!(out.outcome.as_str(), "skipped", "{out:?}");
    assert!(w.started().is_empty());
    // An old failure's event arrives late, after a newer successful run: on-failure decides
    // skip (superseded); a forged retry for it is skipped too.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    w.runs_mut(FLOW, |runs| {
        runs.push(record("later-ok", RunStatus::Successful, t0() + TimeDelta::minutes(3)))
    });
    let d = real_decision(&w);
    assert_ne!(d["action"], "retry", "{d}");
    let out = handle(
        &w,
        &input_for(&forged(120, json!(1), json!([])), t0() + TimeDelta::minutes(4)),
    )
    .unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(w.started().is_empty());
}

#[test]
fn redteam_two_executions_for_one_failure_start_one_run() {
    // Two executions cannot share a name; a second Lambda invocation for the same
    // execution (e.g. a duplicate invoke) uses the same client token.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    let input = input_for(&d, t0() + TimeDelta::minutes(4));
    handle(&w, &input).unwrap();
    handle(&w, &input).unwrap();
    let tokens: std::collections::HashSet<_> = w.started().into_iter().map(|(_, t)| t).collect();
    assert_eq!(tokens.len(), 1, "one client token: AppFlow starts one run");
}

#[test]
fn redteam_preempting_the_name_with_a_quiet_skip_suppresses_the_real_retry() {
    // While the run still runs, the attacker starts the derived name with
    // {action: skip, notify: false}. The state machine's Route goes straight to Done: the
    // restart Lambda never runs, so none of its checks apply. When the run fails,
    // on-failure meets ExecutionAlreadyExists. Expected: told as a conflict (an error the
    // on-failure Lambda's alarm and DLQ surface), not taken as "handled already".
    // Fails on the re-decision commit alone (its on-failure returns AlreadyExists quietly);
    // passes with the DecisionConflict check that is now on main.
    for (action, notify) in [("skip", false), ("give_up", false), ("recovered", false)] {
        let w = World::failed_with(Some(TIMEOUT), vec![]);
        let mut quiet = forged(0, json!(1), json!([]));
        quiet["action"] = json!(action);
        quiet["notify"] = json!(notify);
        w.machine.executions.lock().unwrap().push((
            execution_name(FLOW, FAILED),
            json!({"flow_name": FLOW, "execution_id": FAILED, "decision": quiet, "error_message": TIMEOUT}).to_string(),
        ));
        let res = block(w.on_failure().handle(&failure_event(TIMEOUT)));
        let told = format!("{res:?}");
        assert!(
            told.contains("Conflict") || told.contains("conflict"),
            "{action}: an existing execution whose decision differs from ours must be told as a conflict: {told}"
        );
    }
}

// ---------------------------------------------------------------- re-activations

fn reactivation(at: DateTime<Utc>, attempt: u32, delay: u64, started: DateTime<Utc>) -> Value {
    let d = json!({
        "flow": NIGHTLY, "execution_id": deactivation_id_at(at), "failed_run_started_at": format_time(at),
        "policy": "default", "error_class": "timeout", "attempt": attempt, "max_retries": 3,
        "action": "reactivate", "delay_seconds": delay, "reason": "re-activation",
        "notify_on": [], "notify": false,
    });
    input_for(&d, started)
}

fn failed_run(id: &str, at: DateTime<Utc>) -> appflow_retry_policy::RunRecord {
    let mut r = record(id, RunStatus::Error, at);
    r.message = Some(TIMEOUT.into());
    r
}

#[test]
fn redteam_a_person_stops_a_flow_after_one_failure_below_the_threshold() {
    // The scheduled flow's threshold is 3. It failed once (timeout), succeeded before
    // that, and a person stopped it. AppFlow cannot have deactivated it (1 < 3): a forged
    // reactivate naming a deactivation time just after the failure is skipped and told.
    let runs = vec![
        record("ok-2", RunStatus::Successful, t0() - TimeDelta::hours(2)),
        record("ok-1", RunStatus::Successful, t0() - TimeDelta::hours(1)),
        failed_run("fail-1", t0()),
    ];
    let at = t0() + TimeDelta::minutes(3);
    let started = t0() + TimeDelta::minutes(4);
    let mut out = vec![];
    for attempt in 1..=3 {
        for delay in [0, 60, 120, 300, 600] {
            let w = stopped_world(runs.clone());
            let o = handle(&w, &reactivation(at, attempt, delay, started)).unwrap();
            if (o.outcome.as_str(), o.notify) != ("skipped", true) || !w.started().is_empty() {
                out.push((attempt, delay, w.started(), w.flows.status(NIGHTLY)));
            }
            if attempt == 1 && delay == 300 {
                assert!(
                    o.reason.contains("below the flow's deactivation threshold 3"),
                    "{}",
                    o.reason
                );
            }
        }
    }
    assert!(
        out.is_empty(),
        "a flow with fewer failures than its threshold was stopped by a person, yet: {out:?}"
    );
}

#[test]
fn redteam_a_deactivation_time_the_attacker_chooses() {
    // The deactivation time (and so the id, the name and the client token) is the
    // attacker's choice. A real streak of 3 failures (threshold 3) ended five hours ago and
    // the flow is still Suspended (the owner keeps it off while the source is fixed). A
    // forged reactivate "deactivated" now, hours after the last failure, is skipped and
    // told: AppFlow deactivates right after the failing run ends (15 min at most).
    let mut got = vec![];
    for attempt in 1..=3 {
        for delay in [0, 60, 300] {
            let runs: Vec<_> = (0..3)
                .map(|i| {
                    failed_run(
                        &format!("fail-{i}"),
                        t0() - TimeDelta::hours(5) - TimeDelta::minutes(20 * i),
                    )
                })
                .collect();
            let w = stopped_world(runs);
            let at = t0() + TimeDelta::minutes(3);
            let o = handle(&w, &reactivation(at, attempt, delay, t0() + TimeDelta::minutes(4))).unwrap();
            assert!(o.reason.contains("more than 15 min before it"), "{}", o.reason);
            assert!(o.notify && w.started().is_empty(), "{o:?}");
            got.push((attempt, delay, o.outcome.as_str().to_owned(), o.reason.clone()));
        }
    }
    assert!(
        got.iter().all(|(_, _, o, _)| o == "skipped"),
        "a deactivation time hours after the last failure re-activates: {got:#?}"
    );
}

#[test]
fn redteam_a_success_between_the_failures_and_the_claimed_deactivation() {
    // Three failures, then a successful run, then a person stopped the flow. A forged
    // deactivation time after the success finds no failure streak; one just before the
    // success finds the success as a run after the deactivation (R6): skipped either way.
    let mut runs: Vec<_> = (0..3)
        .map(|i| failed_run(&format!("fail-{i}"), t0() - TimeDelta::minutes(60 + 20 * i)))
        .collect();
    runs.push(record("ok", RunStatus::Successful, t0() - TimeDelta::minutes(30)));
    let w = stopped_world(runs);
    let at = t0() - TimeDelta::minutes(31);
    let out = handle(&w, &reactivation(at, 1, 300, t0() + TimeDelta::minutes(4))).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(w.started().is_empty());
}

#[test]
fn redteam_eventbridge_style_deactivation_ids_are_never_reactivated() {
    let runs = (0..3)
        .map(|i| failed_run(&format!("f{i}"), t0() - TimeDelta::minutes(30 * i)))
        .collect();
    let w = stopped_world(runs);
    let mut input = reactivation(deactivated_at(), 1, 300, deactivated_at() + TimeDelta::seconds(39));
    let id = "deactivated-0123456789abcdef";
    input["execution_id"] = json!(id);
    input["decision"]["execution_id"] = json!(id);
    input["execution_name"] = json!(execution_name(NIGHTLY, id));
    let out = handle(&w, &input).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(w.started().is_empty());
    // A deactivation id of another time than failed_run_started_at.
    let mut input = reactivation(deactivated_at(), 1, 300, deactivated_at() + TimeDelta::seconds(39));
    input["decision"]["failed_run_started_at"] = json!("2026-11-29T09:06:22Z");
    let out = handle(&w, &input).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(w.started().is_empty());
}

#[test]
fn redteam_reactivation_zero_delay_is_skipped() {
    // A real deactivation, re-decided reactivate 1/3 after 300 s; the forged input says
    // 0 s: skipped and told, the flow stays off.
    let runs = (0..3)
        .map(|i| failed_run(&format!("f{i}"), t0() - TimeDelta::minutes(30 * i)))
        .collect();
    let w = stopped_world(runs);
    let ok = handle(
        &w,
        &reactivation(deactivated_at(), 1, 0, deactivated_at() + TimeDelta::seconds(39)),
    )
    .unwrap();
    assert_eq!((ok.outcome.as_str(), ok.notify), ("skipped", true), "{ok:?}");
    assert!(ok.reason.contains("wait of 0s is not the policy's"), "{}", ok.reason);
    assert!(w.started().is_empty());
}

#[test]
fn redteam_a_legit_decision_at_the_windows_edge_started_a_second_later_is_skipped_and_told() {
    // Known and accepted (docs/design.md §6.8): on-failure decides at its clock `now`; the
    // restart re-decides at the execution's StartTime, a little later. A decision whose
    // restart lands exactly at the window's end is re-decided a second later as give_up:
    // the legitimate restart is skipped and told, never a wrong restart done.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    // Streak start t0 (the failed run), window 6 h, attempt 1 after 120 s (jitter none).
    let decided_at = t0() + TimeDelta::hours(6) - TimeDelta::seconds(120);
    *w.clock.0.lock().unwrap() = decided_at;
    let d = real_decision(&w);
    assert_eq!(
        (d["action"].as_str(), d["delay_seconds"].as_u64()),
        (Some("retry"), Some(120)),
        "{d}"
    );
    let out = handle(&w, &input_for(&d, decided_at + TimeDelta::seconds(1))).unwrap();
    assert_eq!((out.outcome.as_str(), out.notify), ("skipped", true), "{out:?}");
    assert!(out.reason.contains("give_up"), "{}", out.reason);
    assert!(w.started().is_empty());
}

#[test]
fn redteam_forged_notify_on_does_not_silence_a_reactivation_the_policy_says_to_tell() {
    // The policy's notify has `reactivate`; the forged input's notify_on is empty: the
    // re-activation is still told.
    let runs = (0..3)
        .map(|i| failed_run(&format!("f{i}"), t0() - TimeDelta::minutes(30 * i)))
        .collect();
    let w = stopped_world(runs);
    let out = handle(
        &w,
        &reactivation(deactivated_at(), 1, 300, deactivated_at() + TimeDelta::seconds(39)),
    )
    .unwrap();
    assert_eq!(out.outcome.as_str(), "reactivated", "{out:?}");
    assert!(out.notify, "the policy says tell every re-activation: {out:?}");
}

#[test]
fn redteam_a_record_time_with_milliseconds_the_event_does_not_carry() {
    // The event's start-time is whole seconds; AppFlow's record has milliseconds. The real
    // decision must still restart (the restart compares the decision's time with the record's).
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    w.runs_mut(FLOW, |runs| {
        runs[0].started_at = Some(t0() + TimeDelta::milliseconds(123));
        runs[0].last_updated_at = Some(t0() + TimeDelta::milliseconds(120_456));
    });
    let d = real_decision(&w);
    let out = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4)));
    assert!(
        out.as_ref().is_ok_and(|o| o.outcome.as_str() == "restarted"),
        "{d}: {out:?}"
    );
}

#[test]
fn redteam_duplicate_records_of_the_failed_run_across_pages_keep_the_final_copy() {
    // A page boundary that shifts while the history is read can list a run twice, a stale
    // InProgress copy first, then the Error. The final copy is kept: the legitimate
    // restart goes ahead (never RestartRefused, which is not retried and told as forged).
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let d = real_decision(&w);
    w.runs_mut(FLOW, |runs| {
        let mut stale = runs[0].clone();
        stale.status = RunStatus::InProgress;
        stale.last_updated_at = Some(t0() + TimeDelta::minutes(1));
        runs.insert(0, stale);
    });
    let out = handle(&w, &input_for(&d, t0() + TimeDelta::minutes(4)));
    assert!(
        out.as_ref().is_ok_and(|o| o.outcome.as_str() == "restarted"),
        "a legitimate restart must not be refused (never retried, told as forged): {out:?}"
    );
    assert_eq!(w.started().len(), 1);
}
