//! Comparing two decisions for one run (docs/design.md §5.4): the legitimate
//! duplicates (a later delivery of the same failure, decided by the real
//! rules at a later time or with a longer history) are never a conflict; the
//! forged decisions always are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use appflow_retry_policy::conflict::{Comparison, Footing, compare, decision_of_input, footing};
use appflow_retry_policy::{
    Action, BrokenPolicy, DeactivatedKind, DeactivationEvent, Decision, FailureEvent, FlowPolicy, Policy, PolicyFile,
    Precheck, ReactivationPrecheck, ResolvedPolicy, RunRecord, RunStatus, SplitMix64, decide, decide_reactivation,
    precheck, reactivation_precheck,
};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

const FAILED: &str = "exec-failed";

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + TimeDelta::minutes(minutes)
}

/// The built-in defaults (max_retries 3, retry_window 6h, backoff 2m ×2), no jitter, then `yaml`.
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

fn event(error: &str, trigger: &str) -> FailureEvent {
    FailureEvent {
        flow_name: "f".into(),
        execution_id: FAILED.into(),
        trigger_type: Some(trigger.into()),
        status: Some("Execution Failed".into()),
        error: Some(error.into()),
        start_time: Some(t(0)),
        time: Some(t(3)),
    }
}

fn rec(id: &str, status: RunStatus, minutes: i64) -> RunRecord {
    RunRecord {
        execution_id: id.into(),
        status,
        started_at: Some(t(minutes)),
        last_updated_at: Some(t(minutes) + TimeDelta::minutes(3)),
        message: None,
    }
}

/// The failed run, after `earlier` Error runs an hour apart.
fn history(earlier: i64) -> Vec<RunRecord> {
    let mut r = vec![rec(FAILED, RunStatus::Error, 0)];
    r.extend((1..=earlier).map(|i| rec(&format!("e{i}"), RunStatus::Error, -60 * i)));
    r
}

fn decided(error: &str, records: &[RunRecord], p: &FlowPolicy, now: DateTime<Utc>) -> Decision {
    decide(
        &event(error, "ONDEMAND"),
        records,
        p,
        now,
        &mut SplitMix64::for_execution(FAILED),
    )
    .unwrap()
}

fn flow_gone(error: &str, p: &FlowPolicy) -> Decision {
    let e = event(error, "ONDEMAND");
    match precheck(&e, p) {
        Precheck::NeedsHistory(pending) => pending.flow_gone(),
        Precheck::Decided(d) => panic!("{d:?}"),
    }
}

/// Ours, compared with theirs as the existing execution holds it.
fn cmp(ours: &Decision, theirs: &Decision) -> Comparison {
    compare(ours, footing(&ours.reason), &Ok(theirs.clone()))
}

fn conflict_fields(c: &Comparison) -> Vec<&'static str> {
    match c {
        Comparison::Duplicate => Vec::new(),
        Comparison::Conflict(d) => d.iter().map(|d| d.field).collect(),
    }
}

const TIMEOUT: &str = "Read timed out after 30000 ms";
const AUTH: &str = "Request failed with status 401";

/// Every rule's reason has the footing the comparison relies on: a rule
/// whose reason changes must change this table (and maybe the footing).
#[test]
fn each_rule_has_its_footing() {
    let p = policy("{}");
    let broken = FlowPolicy::Broken(BrokenPolicy {
        source: "/p/flows/f".into(),
        problems: vec![],
    });
    let newer = {
        let mut r = history(0);
        r.push(rec("newer", RunStatus::Successful, 10));
        r
    };
    let cases: Vec<(&str, Decision, Footing)> = vec![
        ("retry", decided(TIMEOUT, &history(0), &p, t(5)), Footing::Fixed),
        (
            "1: broken policy",
            decided(TIMEOUT, &history(0), &broken, t(5)),
            Footing::Fixed,
        ),
        (
            "2: disabled",
            decided(TIMEOUT, &history(0), &policy("enabled: false"), t(5)),
            Footing::Fixed,
        ),
        (
            "3: scheduled",
            decide(
                &event(TIMEOUT, "SCHEDULED"),
                &[],
                &p,
                t(5),
                &mut SplitMix64::for_execution(FAILED),
            )
            .unwrap(),
            Footing::Fixed,
        ),
        ("5: skip_errors", decided(AUTH, &history(0), &p, t(5)), Footing::Fixed),
        (
            "6: record cancelled",
            decided(TIMEOUT, &[rec(FAILED, RunStatus::Canceled, 0)], &p, t(5)),
            Footing::Fixed,
        ),
        (
            "6: record succeeded",
            decided(TIMEOUT, &[rec(FAILED, RunStatus::Successful, 0)], &p, t(5)),
            Footing::Fixed,
        ),
        (
            "6: superseded",
            decided(TIMEOUT, &newer, &p, t(15)),
            Footing::Superseded,
        ),
        ("6: flow gone", flow_gone(TIMEOUT, &p), Footing::FlowGone),
        (
            "8: max_retries",
            decided(TIMEOUT, &history(3), &p, t(5)),
            Footing::Fixed,
        ),
        (
            "9: window passed",
            decided(TIMEOUT, &history(0), &p, t(6 * 60)),
            Footing::WindowPassed(Action::Retry),
        ),
        (
            "11: restart past the window",
            decided(TIMEOUT, &history(0), &p, t(6 * 60 - 1)),
            Footing::WindowPassed(Action::Retry),
        ),
    ];
    let r = reactivation_cases();
    for (name, d, want) in cases.iter().chain(r.iter()) {
        assert_eq!(footing(&d.reason), *want, "{name}: {}", d.reason);
    }
}

fn deactivation() -> DeactivationEvent {
    DeactivationEvent {
        flow_name: "nightly".into(),
        kind: DeactivatedKind::Scheduled,
        reason: Some("Flow failed 3 times in a row: connection reset".into()),
        reason_field: Some("deactivation-reason"),
        time: Some(t(0)),
        event_id: Some("ev-1".into()),
    }
}

fn reactivation(p: &FlowPolicy, records: &[RunRecord], now: DateTime<Utc>) -> Decision {
    let e = deactivation();
    decide_reactivation(
        &e,
        p,
        records,
        3,
        now,
        &mut SplitMix64::for_execution(&e.deactivation_id()),
    )
}

fn reactivate_policy(yaml: &str) -> FlowPolicy {
    let base: PolicyFile =
        serde_yaml::from_str("reactivate: {enabled: true, backoff: {jitter: none, initial_delay: 5m}}").unwrap();
    let file: PolicyFile = serde_yaml::from_str(yaml).unwrap();
    FlowPolicy::Usable(ResolvedPolicy::new("default".into(), Policy::default().merged(&base).merged(&file)).unwrap())
}

/// Three Error runs before the deactivation (threshold 3: one deactivation).
fn deactivated_history() -> Vec<RunRecord> {
    (1..=3)
        .map(|i| rec(&format!("e{i}"), RunStatus::Error, -60 * i))
        .collect()
}

fn reactivation_cases() -> Vec<(&'static str, Decision, Footing)> {
    let p = reactivate_policy("{}");
    let mut ran = deactivated_history();
    ran.push(rec("after", RunStatus::Successful, 30));
    let gone = match reactivation_precheck(&deactivation(), &p, t(1)) {
        ReactivationPrecheck::NeedsHistory(pending) => pending.flow_gone(),
        ReactivationPrecheck::Decided(d) => panic!("{d:?}"),
    };
    vec![
        (
            "R10: reactivate",
            reactivation(&p, &deactivated_history(), t(1)),
            Footing::Fixed,
        ),
        (
            "R3: not enabled",
            reactivation(&policy("{}"), &deactivated_history(), t(1)),
            Footing::Fixed,
        ),
        ("R5: flow gone", gone, Footing::FlowGone),
        ("R6: ran after", reactivation(&p, &ran, t(40)), Footing::Superseded),
        (
            "R8: used up",
            reactivation(
                &reactivate_policy("reactivate: {max_reactivations: 0}"),
                &deactivated_history(),
                t(1),
            ),
            Footing::Fixed,
        ),
        (
            "R9: window passed",
            reactivation(&p, &deactivated_history(), t(3 * 60)),
            Footing::WindowPassed(Action::Reactivate),
        ),
        (
            "R10: past the window",
            reactivation(&p, &deactivated_history(), t(3 * 60 - 4)),
            Footing::WindowPassed(Action::Reactivate),
        ),
    ]
}

/// A later delivery of the same failure (EventBridge redelivery, a redrive,
/// a late event after the sweep, a duplicate after the restart ran) meets
/// the first delivery's execution: never a conflict.
#[test]
fn legitimate_duplicates_are_not_conflicts() {
    let p = policy("{}");
    let first = decided(TIMEOUT, &history(1), &p, t(5));
    assert_eq!((first.action, first.attempt), (Action::Retry, Some(2)));
    let after_restart = {
        let mut r = history(1);
        // The restart's own run, after the backoff: rule 6 now says superseded.
        r.push(rec("restart-run", RunStatus::InProgress, 9));
        r
    };
    let mut sweep_found = first.clone();
    sweep_found.reason = format!("found by the reconciliation sweep, no event arrived: {}", first.reason);
    let cases: Vec<(&str, Decision, Decision)> = vec![
        ("the same decision", first.clone(), first.clone()),
        (
            "redelivered an hour later: the same",
            decided(TIMEOUT, &history(1), &p, t(65)),
            first.clone(),
        ),
        (
            "redelivered after the window (rule 9)",
            decided(TIMEOUT, &history(1), &p, t(-60 + 6 * 60)),
            first.clone(),
        ),
        (
            "redelivered near the window's end (rule 11)",
            decided(TIMEOUT, &history(1), &p, t(-60 + 6 * 60 - 2)),
            first.clone(),
        ),
        (
            "a duplicate after the restart ran (rule 6)",
            decided(TIMEOUT, &after_restart, &p, t(12)),
            first.clone(),
        ),
        (
            "a late event after the sweep decided",
            first.clone(),
            sweep_found.clone(),
        ),
        (
            "a redrive after the flow was deleted",
            flow_gone(TIMEOUT, &p),
            first.clone(),
        ),
        (
            "a redrive days later: superseded by newer runs",
            decided(
                TIMEOUT,
                &[history(1), vec![rec("n1", RunStatus::Successful, 60 * 24)]].concat(),
                &p,
                t(60 * 48),
            ),
            first.clone(),
        ),
    ];
    for (name, ours, theirs) in &cases {
        assert_eq!(cmp(ours, theirs), Comparison::Duplicate, "{name}: ours {ours:#?}");
    }
    // A give-up after the window, first decided a give-up at the window's end: a duplicate too.
    let at_end = decided(TIMEOUT, &history(1), &p, t(-60 + 6 * 60 - 2));
    let later = decided(TIMEOUT, &history(1), &p, t(-60 + 7 * 60));
    assert_eq!(cmp(&later, &at_end), Comparison::Duplicate);

    // A deactivation re-delivered after its re-activation ran, or after the window.
    let rp = reactivate_policy("{}");
    let first = reactivation(&rp, &deactivated_history(), t(1));
    assert_eq!(first.action, Action::Reactivate);
    let mut ran = deactivated_history();
    ran.push(rec("after", RunStatus::Successful, 30));
    assert_eq!(cmp(&reactivation(&rp, &ran, t(40)), &first), Comparison::Duplicate);
    assert_eq!(
        cmp(&reactivation(&rp, &deactivated_history(), t(3 * 60)), &first),
        Comparison::Duplicate
    );
}

/// Someone else's decision under the run's name: always a conflict, and the
/// differing fields are named.
#[test]
fn forged_decisions_are_conflicts() {
    let p = policy("{}");
    let honest_retry = decided(TIMEOUT, &history(0), &p, t(5));
    assert_eq!(honest_retry.action, Action::Retry);
    // A forger copies the shape of a retry onto a run that fails with an auth error.
    let mut forged_retry_auth = honest_retry.clone();
    forged_retry_auth.error_class = Some("auth".into());
    let skip_errors = decided(AUTH, &history(0), &p, t(5));
    let max_retries = decided(TIMEOUT, &history(3), &p, t(5));
    let mut forged_retry_4 = honest_retry.clone();
    forged_retry_4.attempt = Some(4);
    let mut forged_skip = honest_retry.clone();
    forged_skip.action = Action::Skip;
    forged_skip.delay_seconds = None;
    forged_skip.notify = false;
    let second = decided(TIMEOUT, &history(1), &p, t(5));
    let mut short_delay = honest_retry.clone();
    short_delay.delay_seconds = Some(1);
    let mut silent_give_up = max_retries.clone();
    silent_give_up.notify = false;
    let mut other_run = honest_retry.clone();
    other_run.execution_id = "another-run".into();
    let window_passed = decided(TIMEOUT, &history(1), &p, t(6 * 60));
    let mut superseded_history = history(0);
    superseded_history.push(rec("newer", RunStatus::Successful, 10));
    let superseded = decided(TIMEOUT, &superseded_history, &p, t(15));

    let cases: Vec<(&str, &Decision, &Decision, &[&str])> = vec![
        (
            "existing retry, ours a skip by skip_errors",
            &skip_errors,
            &honest_retry,
            &["action", "error_class", "attempt"],
        ),
        (
            "existing retry (class forged too), ours skip_errors",
            &skip_errors,
            &forged_retry_auth,
            &["action", "attempt"],
        ),
        (
            "existing retry, ours give_up by max_retries",
            &max_retries,
            &honest_retry,
            &["action", "attempt"],
        ),
        (
            "existing retry with the right attempt, ours give_up",
            &max_retries,
            &forged_retry_4,
            &["action"],
        ),
        (
            "existing skip, ours retry",
            &honest_retry,
            &forged_skip,
            &["action", "delay_seconds"],
        ),
        (
            "a different attempt",
            &second,
            &honest_retry,
            &["attempt", "delay_seconds"],
        ),
        ("a shorter delay", &honest_retry, &short_delay, &["delay_seconds"]),
        (
            "the same give-up, told to nobody",
            &max_retries,
            &silent_give_up,
            &["notify"],
        ),
        (
            "another run's decision under this name",
            &honest_retry,
            &other_run,
            &["execution_id"],
        ),
        (
            "ours past the window: the attempt still counts",
            &window_passed,
            &honest_retry,
            &["attempt"],
        ),
        (
            "ours past the window: an earlier skip was not ours",
            &window_passed,
            &forged_skip,
            &["action", "attempt"],
        ),
        (
            "ours superseded: another class",
            &superseded,
            &forged_retry_auth,
            &["error_class"],
        ),
    ];
    for (name, ours, theirs, fields) in cases {
        assert_eq!(conflict_fields(&cmp(ours, theirs)), fields, "{name}");
    }
}

#[test]
fn an_input_without_a_decision_is_a_conflict() {
    let p = policy("{}");
    let ours = decided(TIMEOUT, &history(0), &p, t(5));
    let good = json!({"flow_name": "f", "execution_id": FAILED, "error_message": "", "decision": ours}).to_string();
    assert_eq!(decision_of_input(&good).unwrap(), ours);
    for input in [
        "",
        "{}",
        "[1]",
        r#"{"decision": {"action": "retry"}}"#,
        r#"{"decision": null}"#,
    ] {
        let theirs = decision_of_input(input);
        assert!(theirs.is_err(), "{input}");
        assert_eq!(
            conflict_fields(&compare(&ours, Footing::Fixed, &theirs)),
            ["input"],
            "{input}"
        );
    }
}
