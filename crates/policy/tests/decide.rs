//! Table tests for every rule of docs/design.md §4.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use appflow_retry_policy::{
    Action, BrokenPolicy, Decision, Diagnostic, FailureEvent, FlowPolicy, Policy, PolicyFile, Position, Precheck,
    ResolvedPolicy, RunRecord, RunStatus, SplitMix64, Undecided, decide, precheck,
};
use chrono::{DateTime, TimeDelta, Utc};

const FAILED: &str = "exec-failed";

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + TimeDelta::minutes(minutes)
}

/// A policy: the built-in defaults with `yaml` laid over, no jitter unless it says so.
fn policy(yaml: &str) -> FlowPolicy {
    let base: PolicyFile = serde_yaml::from_str("backoff: {jitter: none}").unwrap();
    let file: PolicyFile = serde_yaml::from_str(yaml).unwrap();
    FlowPolicy::Usable(
        ResolvedPolicy::new(
            "policies/flows/f.yaml".into(),
            Policy::default().merged(&base).merged(&file),
        )
        .unwrap(),
    )
}

fn event(error: Option<&str>) -> FailureEvent {
    FailureEvent {
        flow_name: "f".into(),
        execution_id: FAILED.into(),
        trigger_type: Some("OnDemand".into()),
        status: Some("Execution Failed".into()),
        error: error.map(str::to_owned),
        start_time: Some(t(0)),
        time: Some(t(3)),
    }
}

fn rec(id: &str, status: RunStatus, started: Option<DateTime<Utc>>) -> RunRecord {
    RunRecord {
        execution_id: id.into(),
        status,
        started_at: started,
        last_updated_at: started.map(|s| s + TimeDelta::minutes(3)),
        message: None,
    }
}

fn failed_rec() -> RunRecord {
    rec(FAILED, RunStatus::Error, Some(t(0)))
}

fn err(id: &str, minutes: i64) -> RunRecord {
    rec(id, RunStatus::Error, Some(t(minutes)))
}

fn try_run(p: &FlowPolicy, e: &FailureEvent, records: &[RunRecord], now: DateTime<Utc>) -> Result<Decision, Undecided> {
    decide(e, records, p, now, &mut SplitMix64::for_execution(&e.execution_id))
}

fn run(p: &FlowPolicy, e: &FailureEvent, records: &[RunRecord], now: DateTime<Utc>) -> Decision {
    try_run(p, e, records, now).unwrap()
}

fn check(d: &Decision, action: Action, attempt: Option<u32>, reason_has: &str) {
    assert_eq!(d.action, action, "{d:#?}");
    assert_eq!(d.attempt, attempt, "{d:#?}");
    assert!(
        d.reason.contains(reason_has),
        "reason {:?} lacks {reason_has:?}",
        d.reason
    );
    assert_eq!(d.delay_seconds.is_some(), action == Action::Retry);
    assert_eq!(d.notify, d.notify_on.contains(&action));
}

#[test]
fn first_failure_retries_after_the_initial_delay() {
    let d = run(&policy(""), &event(Some("Read timed out")), &[failed_rec()], t(4));
    check(&d, Action::Retry, Some(1), "restart 1 of 3");
    assert_eq!(d.delay_seconds, Some(120));
    assert_eq!(d.error_class.as_deref(), Some("transient"));
    assert_eq!(d.failed_run_started_at, t(0));
    assert_eq!(d.policy, "policies/flows/f.yaml");
    assert!(!d.notify, "retry is not in the default notify list");
}

#[test]
fn disabled_and_non_on_demand_flows_skip_before_any_history() {
    let p = policy("enabled: false");
    let Precheck::Decided(d) = precheck(&event(Some("timed out")), &p) else {
        panic!("needs no history")
    };
    check(&d, Action::Skip, None, "disabled");
    assert_eq!(d.error_class, None);
    assert!(d.notify, "skip is in the default notify list");

    for trigger in ["Scheduled", "EVENT", "scheduled"] {
        let e = FailureEvent {
            trigger_type: Some(trigger.into()),
            ..event(None)
        };
        let Precheck::Decided(d) = precheck(&e, &policy("")) else {
            panic!("{trigger} needs no history")
        };
        check(&d, Action::Skip, None, "cannot re-run");
        assert_eq!(d.failed_run_started_at, t(0), "the event's start-time");
    }
    for trigger in [None, Some(""), Some("ONDEMAND"), Some("OnDemand")] {
        let e = FailureEvent {
            trigger_type: trigger.map(str::to_owned),
            ..event(None)
        };
        assert!(
            matches!(precheck(&e, &policy("")), Precheck::NeedsHistory(_)),
            "{trigger:?}"
        );
    }
}

#[test]
fn message_comes_from_the_event_then_the_failed_record() {
    let mut r = failed_rec();
    r.message = Some("Connection reset by peer".into());
    let d = run(&policy(""), &event(None), std::slice::from_ref(&r), t(4));
    assert_eq!(d.error_class.as_deref(), Some("transient"));
    let d = run(&policy(""), &event(Some("429 Too Many Requests")), &[r], t(4));
    assert_eq!(d.error_class.as_deref(), Some("throttling"));
    let d = run(&policy(""), &event(None), &[failed_rec()], t(4));
    assert_eq!(d.error_class.as_deref(), Some("unknown"));
}

#[test]
fn skip_errors_classes_are_not_restarted() {
    let d = run(
        &policy(""),
        &event(Some("INVALID_SESSION_ID: Session expired")),
        &[failed_rec()],
        t(4),
    );
    check(&d, Action::Skip, None, "auth is in skip_errors");
    assert_eq!(d.error_class.as_deref(), Some("auth"));
    let d = run(
        &policy("skip_errors: []"),
        &event(Some("Session expired")),
        &[failed_rec()],
        t(4),
    );
    assert_eq!(d.action, Action::Retry);
}

#[test]
fn custom_classes_are_tried_before_built_ins_and_overrides_apply() {
    let p = policy(
        "max_retries: 5\n\
         error_classes: [{name: sf_api_limit, patterns: [REQUEST_LIMIT_EXCEEDED]}]\n\
         overrides: {sf_api_limit: {max_retries: 2, backoff: {strategy: fixed, initial_delay: 1h}}}",
    );
    let e = event(Some("REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."));
    let d = run(&p, &e, &[failed_rec(), err("a", -30)], t(4));
    check(&d, Action::Retry, Some(2), "restart 2 of 2 for class sf_api_limit");
    assert_eq!((d.max_retries, d.delay_seconds), (2, Some(3600)));
    let d = run(&p, &e, &[failed_rec(), err("a", -30), err("b", -60)], t(4));
    check(&d, Action::GiveUp, Some(3), "max_retries 2");
    assert_eq!(d.max_retries, 2);
    // Without the custom class the built-in throttling class and the policy's settings apply.
    let d = run(
        &policy("max_retries: 5"),
        &e,
        &[failed_rec(), err("a", -30), err("b", -60)],
        t(4),
    );
    assert_eq!(
        (d.error_class.as_deref(), d.action, d.max_retries),
        (Some("throttling"), Action::Retry, 5)
    );
}

#[test]
fn no_decision_without_the_failed_runs_own_final_record() {
    let e = event(Some("timed out"));
    let missing = try_run(&policy(""), &e, &[err("a", -10)], t(4)).unwrap_err();
    assert_eq!(missing.error_type(), "FailedRunNotFound");
    assert!(missing.to_string().contains(FAILED), "{missing}");
    for status in [RunStatus::InProgress, RunStatus::Other("Weird".into())] {
        let r = rec(FAILED, status.clone(), Some(t(0)));
        let not_final = try_run(&policy(""), &e, &[r, err("a", -10)], t(4)).unwrap_err();
        assert_eq!(not_final.error_type(), "FailedRunNotFinal", "{status:?}");
    }
    // A class never restarted needs no record: skip is safe either way (rule 5 before 6).
    let d = run(&policy(""), &event(Some("401 Unauthorized")), &[], t(4));
    check(&d, Action::Skip, None, "skip_errors");
    // A record that says the run succeeded: nothing to restart.
    let d = run(&policy(""), &e, &[rec(FAILED, RunStatus::Successful, Some(t(0)))], t(4));
    check(&d, Action::Skip, None, "succeeded");
}

#[test]
fn a_record_without_times_uses_the_event_times() {
    let r = rec(FAILED, RunStatus::Error, None);
    let d = run(
        &policy(""),
        &event(Some("timed out")),
        &[r.clone(), err("a", -10)],
        t(4),
    );
    check(&d, Action::Retry, Some(2), "restart 2");
    assert_eq!(d.failed_run_started_at, t(0), "detail.start-time");
    let e = FailureEvent {
        start_time: None,
        ..event(Some("timed out"))
    };
    let d = run(&policy(""), &e, &[r, err("a", -10)], t(4));
    assert_eq!(d.failed_run_started_at, t(3), "the envelope time");
}

#[test]
fn a_cancel_in_the_event_skips_before_any_history() {
    for status in ["Execution Canceled", "Execution Cancelled", "CANCELED", "CancelStarted"] {
        let e = FailureEvent {
            status: Some(status.into()),
            ..event(Some("timed out"))
        };
        let Precheck::Decided(d) = precheck(&e, &policy("")) else {
            panic!("{status} needs no history")
        };
        check(&d, Action::Skip, None, "cancelled");
    }
}

#[test]
fn a_broken_policy_skips_and_always_notifies() {
    let broken = FlowPolicy::Broken(BrokenPolicy {
        source: "/appflow-retry/flows/f".into(),
        problems: vec![
            Diagnostic {
                file: "/appflow-retry/flows/f".into(),
                position: Position { line: 2, column: 10 },
                message: "enabled: invalid type: string \"no\", expected a boolean".into(),
            },
            Diagnostic {
                file: "/appflow-retry/flows/f".into(),
                position: Position { line: 3, column: 1 },
                message: "other".into(),
            },
        ],
    });
    let Precheck::Decided(d) = precheck(&event(Some("timed out")), &broken) else {
        panic!("a broken policy needs no history")
    };
    assert_eq!(d.action, Action::Skip);
    assert!(d.notify, "always told, whatever notify says");
    assert_eq!(d.policy, "/appflow-retry/flows/f");
    assert!(
        d.reason.contains("/appflow-retry/flows/f:2:10: enabled: invalid type") && d.reason.contains("1 more"),
        "{}",
        d.reason
    );
    assert_eq!((d.attempt, d.error_class.as_deref()), (None, None));
}

#[test]
fn the_failed_records_time_wins_over_the_event() {
    let r = rec(FAILED, RunStatus::Error, Some(t(-1)));
    let d = run(&policy(""), &event(Some("timed out")), &[r], t(4));
    assert_eq!(d.failed_run_started_at, t(-1));
}

#[test]
fn records_without_started_at_use_last_updated_at_or_are_ignored() {
    let mut only_updated = err("a", 0);
    only_updated.started_at = None;
    only_updated.last_updated_at = Some(t(-10));
    let mut no_time = err("b", 0);
    no_time.started_at = None;
    no_time.last_updated_at = None;
    let d = run(
        &policy(""),
        &event(Some("x")),
        &[failed_rec(), only_updated, no_time],
        t(4),
    );
    check(&d, Action::Retry, Some(2), "restart 2");
    // A success without any time does not end the streak either.
    let mut ok = rec("c", RunStatus::Successful, None);
    ok.last_updated_at = None;
    let d = run(&policy(""), &event(Some("x")), &[failed_rec(), ok, err("a", -20)], t(4));
    assert_eq!(d.attempt, Some(2));
}

#[test]
fn record_order_does_not_matter() {
    let records = [
        err("a", -10),
        failed_rec(),
        rec("s", RunStatus::Successful, Some(t(-40))),
        err("b", -20),
        err("c", -50),
    ];
    let expected = run(&policy("max_retries: 9"), &event(Some("x")), &records, t(4));
    assert_eq!(expected.attempt, Some(3));
    let mut shuffled = records.to_vec();
    for _ in 0..records.len() {
        shuffled.rotate_left(1);
        assert_eq!(
            run(&policy("max_retries: 9"), &event(Some("x")), &shuffled, t(4)),
            expected
        );
        shuffled.reverse();
        assert_eq!(
            run(&policy("max_retries: 9"), &event(Some("x")), &shuffled, t(4)),
            expected
        );
    }
}

#[test]
fn the_streak_stops_at_any_other_status() {
    for status in [
        RunStatus::Successful,
        RunStatus::InProgress,
        RunStatus::Canceled,
        RunStatus::Other("X".into()),
    ] {
        let records = [
            failed_rec(),
            err("a", -10),
            rec("s", status.clone(), Some(t(-20))),
            err("b", -30),
        ];
        let d = run(&policy(""), &event(Some("x")), &records, t(4));
        assert_eq!(d.attempt, Some(2), "{status:?}");
    }
}

#[test]
fn ties_with_the_failed_run_are_ignored_and_older_ties_end_the_streak() {
    // Another record with exactly the failed run's time neither counts nor supersedes.
    for status in [RunStatus::Successful, RunStatus::Error] {
        let records = [failed_rec(), rec("twin", status.clone(), Some(t(0))), err("a", -10)];
        let d = run(&policy(""), &event(Some("x")), &records, t(4));
        check(&d, Action::Retry, Some(2), "restart 2");
    }
    // Older records at one instant: the run that did not fail ends the streak, in any order.
    for records in [
        [
            failed_rec(),
            err("a", -10),
            rec("ok", RunStatus::Successful, Some(t(-10))),
            err("b", -20),
        ],
        [
            failed_rec(),
            rec("ok", RunStatus::Successful, Some(t(-10))),
            err("a", -10),
            err("b", -20),
        ],
    ] {
        let d = run(&policy(""), &event(Some("x")), &records, t(4));
        assert_eq!(d.attempt, Some(1), "{records:?}");
    }
}

#[test]
fn a_canceled_failed_run_is_skipped() {
    for status in [RunStatus::Canceled, RunStatus::CancelStarted] {
        let d = run(
            &policy(""),
            &event(Some("x")),
            &[rec(FAILED, status.clone(), Some(t(0)))],
            t(4),
        );
        check(&d, Action::Skip, None, status.as_str());
        assert_eq!(d.error_class.as_deref(), Some("unknown"), "classified before step 6");
    }
}

#[test]
fn a_newer_run_of_any_status_supersedes() {
    for status in [
        RunStatus::Successful,
        RunStatus::Error,
        RunStatus::InProgress,
        RunStatus::Canceled,
    ] {
        let records = [
            failed_rec(),
            rec("newer", status.clone(), Some(t(0) + TimeDelta::milliseconds(1))),
        ];
        let d = run(&policy(""), &event(Some("x")), &records, t(4));
        check(&d, Action::Skip, None, "superseded: a newer run newer");
    }
}

#[test]
fn failures_older_than_the_window_start_a_new_streak() {
    let p = policy("retry_window: 1h\nmax_retries: 5");
    // -60 is exactly at the window start: counted. -61 is outside: not counted.
    let d = run(
        &p,
        &event(Some("x")),
        &[failed_rec(), err("a", -30), err("b", -60), err("c", -61)],
        t(0),
    );
    assert_eq!(d.attempt, Some(3));
    let d = run(
        &p,
        &event(Some("x")),
        &[failed_rec(), err("c", -61), err("d", -62)],
        t(0),
    );
    assert_eq!(d.attempt, Some(1));
}

#[test]
fn max_retries_edge() {
    let p = policy("max_retries: 2\nretry_window: 1d");
    let d = run(&p, &event(Some("x")), &[failed_rec(), err("a", -10)], t(1));
    check(&d, Action::Retry, Some(2), "restart 2 of 2");
    let d = run(
        &p,
        &event(Some("x")),
        &[failed_rec(), err("a", -10), err("b", -20)],
        t(1),
    );
    check(&d, Action::GiveUp, Some(3), "max_retries 2");
    let d = run(&policy("max_retries: 0"), &event(Some("x")), &[failed_rec()], t(1));
    check(&d, Action::GiveUp, Some(1), "max_retries 0");
}

#[test]
fn window_already_passed_edge() {
    // Streak began at t(-30); window 1h ends at t(30).
    let p = policy("retry_window: 1h\nmax_retries: 9\nbackoff: {strategy: fixed, initial_delay: 1s}");
    let records = [failed_rec(), err("a", -30)];
    let d = run(&p, &event(Some("x")), &records, t(30));
    check(&d, Action::GiveUp, Some(2), "retry_window 1h has passed");
    let d = run(&p, &event(Some("x")), &records, t(30) - TimeDelta::seconds(2));
    check(&d, Action::Retry, Some(2), "restart 2");
}

#[test]
fn restart_must_land_inside_the_window_edge() {
    // Streak began at t(0) (no earlier failures); window 1h ends at t(60); delay 10m.
    let p = policy("retry_window: 1h\nbackoff: {strategy: fixed, initial_delay: 10m}");
    let d = run(&p, &event(Some("x")), &[failed_rec()], t(50));
    check(&d, Action::Retry, Some(1), "after 10m");
    let d = run(&p, &event(Some("x")), &[failed_rec()], t(50) + TimeDelta::seconds(1));
    check(&d, Action::GiveUp, Some(1), "would be past the retry_window");
}

#[test]
fn the_same_failure_always_gets_the_same_jittered_delay() {
    let p = policy("backoff: {jitter: full, initial_delay: 1h, max_delay: 2h}\nretry_window: 1d");
    let e = event(Some("timed out"));
    let first = run(&p, &e, &[failed_rec()], t(4));
    for _ in 0..10 {
        assert_eq!(run(&p, &e, &[failed_rec()], t(4)), first);
    }
    let delay = first.delay_seconds.unwrap();
    assert!(delay < 3600);
    // Pinned: the generator and the hash are fixed algorithms, so this number never changes.
    assert_eq!(delay, expected_full_jitter(FAILED, 3600.0));
    // Other failures draw other delays; an explicit seed replaces the id's.
    let other = FailureEvent {
        execution_id: "exec-other".into(),
        ..e.clone()
    };
    let d2 = run(&p, &other, &[rec("exec-other", RunStatus::Error, Some(t(0)))], t(4));
    assert_ne!(d2.delay_seconds, first.delay_seconds);
    let seeded = decide(&e, &[failed_rec()], &p, t(4), &mut SplitMix64::new(42))
        .unwrap()
        .delay_seconds
        .unwrap();
    assert_eq!(
        seeded,
        (SplitMix64::new(42).next_unit_for_test() * 3600.0).floor() as u64
    );
}

/// An independent computation of FNV-1a + SplitMix64 + full jitter.
fn expected_full_jitter(id: &str, base: f64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    (SplitMix64::new(h).next_unit_for_test() * base).floor() as u64
}

trait UnitForTest {
    fn next_unit_for_test(&mut self) -> f64;
}

impl UnitForTest for SplitMix64 {
    fn next_unit_for_test(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn notify_follows_the_effective_list() {
    let p = policy("notify: [retry]");
    let d = run(&p, &event(Some("x")), &[failed_rec()], t(4));
    assert_eq!(
        (d.action, d.notify, d.notify_on.clone()),
        (Action::Retry, true, vec![Action::Retry])
    );
    let d = run(
        &policy("notify: []"),
        &event(Some("Session expired")),
        &[failed_rec()],
        t(4),
    );
    assert_eq!((d.action, d.notify), (Action::Skip, false));
}

#[test]
fn decision_json_has_exactly_the_contract_keys() {
    let d = run(&policy(""), &event(Some("timed out")), &[failed_rec()], t(4));
    let v = serde_json::to_value(&d).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "flow",
        "execution_id",
        "failed_run_started_at",
        "policy",
        "error_class",
        "attempt",
        "max_retries",
        "action",
        "delay_seconds",
        "reason",
        "notify_on",
        "notify",
    ];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(v["failed_run_started_at"], "2026-11-29T12:00:00Z");
    assert_eq!(v["action"], "retry");
    assert_eq!(
        serde_json::from_value::<Decision>(v).unwrap(),
        d,
        "round-trips for the restart Lambda"
    );

    let Precheck::Decided(skip) = precheck(&event(None), &policy("enabled: false")) else {
        panic!()
    };
    let v = serde_json::to_value(&skip).unwrap();
    assert!(v.get("delay_seconds").is_none());
    assert!(v["attempt"].is_null() && v["error_class"].is_null());
    assert_eq!(v["notify_on"], serde_json::json!(["give_up", "skip"]));
}
