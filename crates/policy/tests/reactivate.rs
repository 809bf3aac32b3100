//! Table tests for the re-activation rules R1–R10 of docs/design.md §4, and
//! rule 3's notification when re-activation is enabled.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use appflow_retry_policy::{
    Action, BrokenPolicy, DeactivatedKind, DeactivationEvent, Decision, FailureEvent, FlowPolicy, Policy, PolicyFile,
    Position, Precheck, ResolvedPolicy, RunRecord, RunStatus, SplitMix64, deactivation_evidence,
    deactivations_in_streak, decide_reactivation, precheck,
};
use appflow_retry_policy::{Diagnostic, Duration};
use chrono::{DateTime, TimeDelta, Utc};

/// Minutes after the deactivation.
fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + TimeDelta::minutes(minutes)
}

/// The built-in defaults, `reactivate` enabled without jitter, then `yaml`.
fn policy(yaml: &str) -> FlowPolicy {
    let base: PolicyFile =
        serde_yaml::from_str("reactivate: {enabled: true, backoff: {jitter: none, initial_delay: 5m}}").unwrap();
    let file: PolicyFile = serde_yaml::from_str(yaml).unwrap();
    FlowPolicy::Usable(
        ResolvedPolicy::new(
            "policies/flows/nightly.yaml".into(),
            Policy::default().merged(&base).merged(&file),
        )
        .unwrap(),
    )
}

fn event(reason: Option<&str>) -> DeactivationEvent {
    DeactivationEvent {
        flow_name: "nightly".into(),
        kind: DeactivatedKind::Scheduled,
        reason: reason.map(str::to_owned),
        reason_field: reason.map(|_| "deactivation-reason"),
        time: Some(t(0)),
        event_id: Some("ev-1".into()),
    }
}

fn rec(id: &str, status: RunStatus, minutes: i64) -> RunRecord {
    RunRecord {
        execution_id: id.into(),
        status,
        started_at: Some(t(minutes)),
        last_updated_at: Some(t(minutes) + TimeDelta::minutes(1)),
        message: None,
    }
}

/// `n` Error runs an hour apart, the newest one hour before the deactivation.
fn errors(n: i64) -> Vec<RunRecord> {
    (1..=n)
        .map(|i| rec(&format!("e{i}"), RunStatus::Error, -60 * i))
        .collect()
}

fn run(p: &FlowPolicy, records: &[RunRecord], threshold: u32, now: DateTime<Utc>) -> Decision {
    let e = event(Some("Flow failed 3 times in a row: connection reset"));
    decide_reactivation(
        &e,
        p,
        records,
        threshold,
        now,
        &mut SplitMix64::for_execution(&e.deactivation_id()),
    )
}

fn check(d: &Decision, action: Action, attempt: Option<u32>, reason_has: &str) {
    assert_eq!(d.action, action, "{d:#?}");
    assert_eq!(d.attempt, attempt, "{d:#?}");
    assert!(
        d.reason.contains(reason_has),
        "reason {:?} lacks {reason_has:?}",
        d.reason
    );
    assert_eq!(d.delay_seconds.is_some(), action == Action::Reactivate);
    assert_eq!(d.execution_id, "deactivated-20261129T120000Z");
    if action != Action::Reactivate {
        assert!(d.notify, "a deactivation that stays is always told: {d:#?}");
    }
}

#[test]
fn r1_a_broken_policy_is_an_always_notified_skip() {
    let broken = FlowPolicy::Broken(BrokenPolicy {
        source: "/appflow-retry/flows/nightly".into(),
        problems: vec![Diagnostic {
            file: "/appflow-retry/flows/nightly".into(),
            position: Position { line: 2, column: 13 },
            message: "enabled: expected a boolean".into(),
        }],
    });
    let d = run(&broken, &errors(3), 3, t(1));
    check(&d, Action::Skip, None, "policy cannot be used");
    assert_eq!((d.max_retries, d.notify_on.len()), (0, 0));
}

#[test]
fn r2_r3_disabled_policies_or_reactivation_skip_and_always_notify() {
    let d = run(&policy("enabled: false\nnotify: []"), &errors(3), 3, t(1));
    check(&d, Action::Skip, None, "enabled: false");
    let d = run(&policy("reactivate: {enabled: false}\nnotify: []"), &errors(3), 3, t(1));
    check(&d, Action::Skip, None, "reactivate.enabled: false");
    // The built-in default is off.
    let off = FlowPolicy::Usable(ResolvedPolicy::builtin());
    check(&run(&off, &errors(3), 3, t(1)), Action::Skip, None, "not enabled");
}

#[test]
fn r4_a_reason_in_skip_errors_is_not_reactivated() {
    let p = policy("notify: []");
    let e = event(Some("INVALID_SESSION_ID: Session expired or invalid"));
    let d = decide_reactivation(&e, &p, &errors(3), 3, t(1), &mut SplitMix64::new(1));
    check(&d, Action::Skip, None, "auth is in skip_errors");
    assert_eq!(d.error_class.as_deref(), Some("auth"));
    // A class that is not skipped goes on.
    let p = policy("skip_errors: []");
    let d = decide_reactivation(&e, &p, &errors(3), 3, t(1), &mut SplitMix64::new(1));
    assert_eq!(d.action, Action::Reactivate);
}

#[test]
fn r6_a_run_after_the_deactivation_means_active_again() {
    let mut records = errors(3);
    records.push(rec("after", RunStatus::Successful, 10));
    check(
        &run(&policy(""), &records, 3, t(20)),
        Action::Skip,
        None,
        "active again",
    );
}

#[test]
fn r7_the_documented_timeline() {
    // docs/design.md §4: threshold 3, max_reactivations 2, retry_window 1d.
    let p = policy("retry_window: 1d\nreactivate: {max_reactivations: 2}\nnotify: [reactivate]");
    // 3 errors → deactivation 1 → re-activation 1 after 5m.
    let d = run(&p, &errors(3), 3, t(1));
    check(&d, Action::Reactivate, Some(1), "re-activation 1 of 2");
    assert_eq!(d.delay_seconds, Some(300));
    assert!(d.notify, "notify: [reactivate]");
    // 6 errors → deactivation 2 → re-activation 2 after 10m (exponential).
    let d = run(&p, &errors(6), 3, t(1));
    check(&d, Action::Reactivate, Some(2), "re-activation 2 of 2");
    assert_eq!(d.delay_seconds, Some(600));
    // 9 errors → deactivation 3 → give up.
    check(
        &run(&p, &errors(9), 3, t(1)),
        Action::GiveUp,
        Some(3),
        "max_reactivations 2 is used up",
    );
    // A success ends the streak: 3 errors, a success, 3 errors is deactivation 1 again.
    let mut records = errors(3);
    records.push(rec("ok", RunStatus::Successful, -60 * 4));
    records.extend((5..=7).map(|i| rec(&format!("old{i}"), RunStatus::Error, -60 * i)));
    check(
        &run(&p, &records, 3, t(1)),
        Action::Reactivate,
        Some(1),
        "re-activation 1",
    );
}

#[test]
fn r7_counting_edges() {
    let w = Duration::from_secs(86_400);
    // Fewer errors than the threshold (history lag, or lowered threshold): deactivation 1.
    assert_eq!(deactivations_in_streak(&errors(1), 3, t(0), w), (1, t(-60)));
    assert_eq!(deactivations_in_streak(&[], 3, t(0), w), (1, t(0)));
    // Threshold 0 or unknown counts as 1: every error a deactivation (an event flow).
    assert_eq!(deactivations_in_streak(&errors(4), 0, t(0), w).0, 4);
    assert_eq!(deactivations_in_streak(&errors(4), 1, t(0), w).0, 4);
    // Remainders round down: 8 errors at threshold 3 are 2 deactivations.
    assert_eq!(deactivations_in_streak(&errors(8), 3, t(0), w).0, 2);
    // Errors older than the window do not count.
    let short = Duration::from_secs(2 * 3600);
    assert_eq!(deactivations_in_streak(&errors(9), 1, t(0), short), (2, t(-120)));
    // Record order does not matter.
    let mut shuffled = errors(6);
    shuffled.reverse();
    assert_eq!(deactivations_in_streak(&shuffled, 3, t(0), w), (2, t(-360)));
}

#[test]
fn r8_max_reactivations_zero_gives_up_at_once() {
    let d = run(
        &policy("reactivate: {max_reactivations: 0}\nnotify: []"),
        &errors(3),
        3,
        t(1),
    );
    check(&d, Action::GiveUp, Some(1), "max_reactivations 0");
}

#[test]
fn r9_r10_the_window_bounds_the_reactivation() {
    // Streak began 3h before the deactivation; window 4h.
    let p = policy("retry_window: 4h");
    check(&run(&p, &errors(3), 3, t(60)), Action::GiveUp, Some(1), "has passed");
    // 56 minutes left, but the delay is 5m: fine; 4 minutes left: past the window.
    check(
        &run(&p, &errors(3), 3, t(4)),
        Action::Reactivate,
        Some(1),
        "re-activation 1",
    );
    check(
        &run(&p, &errors(3), 3, t(56)),
        Action::GiveUp,
        Some(1),
        "would be past the retry_window",
    );
}

#[test]
fn r10_the_same_deactivation_gets_the_same_delay() {
    let p = policy("reactivate: {backoff: {jitter: full}}");
    let a = run(&p, &errors(3), 3, t(1));
    let b = run(&p, &errors(3), 3, t(1));
    assert_eq!(a, b);
    assert!(a.delay_seconds.unwrap() <= 300);
}

#[test]
fn notify_reactivate_is_per_policy() {
    let d = run(&policy("notify: [give_up]"), &errors(3), 3, t(1));
    assert_eq!((d.action, d.notify), (Action::Reactivate, false));
    let d = run(&policy("notify: [reactivate]"), &errors(3), 3, t(1));
    assert_eq!((d.action, d.notify), (Action::Reactivate, true));
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["action"], "reactivate");
    assert_eq!(json["notify_on"], serde_json::json!(["reactivate"]));
}

#[test]
fn rule3_failed_runs_of_scheduled_flows_are_not_notified_when_reactivation_covers_them() {
    let failure = |trigger: &str| FailureEvent {
        flow_name: "nightly".into(),
        execution_id: "x".into(),
        trigger_type: Some(trigger.into()),
        status: Some("Execution Failed".into()),
        error: Some("boom".into()),
        start_time: Some(t(0)),
        time: Some(t(1)),
    };
    for trigger in ["SCHEDULED", "EVENT"] {
        let e = failure(trigger);
        let on = policy("notify: [skip]");
        let Precheck::Decided(d) = precheck(&e, &on) else {
            panic!("rule 3 needs no history")
        };
        assert_eq!((d.action, d.notify), (Action::Skip, false), "{trigger}");
        let off = policy("notify: [skip]\nreactivate: {enabled: false}");
        let Precheck::Decided(d) = precheck(&e, &off) else {
            panic!("rule 3 needs no history")
        };
        assert_eq!((d.action, d.notify), (Action::Skip, true), "{trigger}");
    }
}

/// The evidence that AppFlow, not a person, deactivated the flow at t(0)
/// (docs/design.md §5.6): the failing run just before, a streak that reaches
/// the threshold unless it runs to the edge of the records read.
#[test]
fn deactivation_evidence_needs_a_recent_failure_and_the_threshold() {
    let ok = |records: &[RunRecord], threshold: u32| deactivation_evidence(records, t(0), threshold);
    // Three failures 20 min apart, the newest ended a minute before: AppFlow's (threshold 3).
    let three: Vec<_> = (0..3)
        .map(|i| rec(&format!("e{i}"), RunStatus::Error, -2 - 20 * i))
        .collect();
    assert_eq!(ok(&three, 3), Ok(()));
    // The newest failure ended 15 min before: still AppFlow's; 16 min: not.
    let at_lag = vec![rec("e", RunStatus::Error, -16)];
    assert_eq!(ok(&at_lag, 1), Ok(()));
    let past_lag = vec![rec("e", RunStatus::Error, -17)];
    let why = ok(&past_lag, 1).unwrap_err();
    assert!(why.contains("more than 15 min before it"), "{why}");
    // The newest run before it succeeded, or there is none: a person stopped it.
    let mut ok_last = three.clone();
    ok_last.push(rec("ok", RunStatus::Successful, -1));
    assert!(ok(&ok_last, 3).unwrap_err().contains("did not fail"));
    assert!(ok(&[], 1).unwrap_err().contains("no run at or before"));
    // A streak ended by a success below the threshold: evidence against.
    let mut short = vec![rec("ok", RunStatus::Successful, -60)];
    short.push(rec("e", RunStatus::Error, -2));
    let why = ok(&short, 3).unwrap_err();
    assert!(why.contains("below the flow's deactivation threshold 3"), "{why}");
    // The same streak cut by the edge of what was read: indeterminate, accepted.
    assert_eq!(ok(&short[1..], 3), Ok(()));
    // Runs after the deactivation do not count here (R6 skips them).
    let mut later = three.clone();
    later.push(rec("later", RunStatus::Successful, 5));
    assert_eq!(ok(&later, 3), Ok(()));
}
