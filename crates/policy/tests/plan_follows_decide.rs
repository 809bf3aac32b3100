//! `plan::schedule` claims to follow `decide()`: for generated policies, the
//! schedule's n-th restart is what `decide()` says about the n-th failure in
//! a row when each restarted run fails at once, and the schedule ends at the
//! failure `decide()` first gives up on (or skips).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use appflow_retry_policy::plan::schedule;
use appflow_retry_policy::{
    Action, FailureEvent, FlowPolicy, PlanOutcome, Policy, PolicyFile, ResolvedPolicy, RunRecord, RunStatus,
    SplitMix64, decide,
};
use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn failure(n: u32, at: DateTime<Utc>) -> (FailureEvent, RunRecord) {
    let id = format!("run-{n}");
    let event = FailureEvent {
        flow_name: "f".into(),
        execution_id: id.clone(),
        trigger_type: Some("ONDEMAND".into()),
        status: Some("Execution Failed".into()),
        error: Some("Read timed out".into()),
        start_time: Some(at),
        time: Some(at),
    };
    let record = RunRecord {
        execution_id: id,
        status: RunStatus::Error,
        started_at: Some(at),
        last_updated_at: Some(at),
        message: None,
    };
    (event, record)
}

/// A policy text from the generated settings; jitter none, so every delay is its base delay.
fn policy_yaml(
    enabled: bool,
    max_retries: u32,
    window: u64,
    strategy: &str,
    initial: u64,
    cap: u64,
    mult: f64,
) -> String {
    format!(
        "enabled: {enabled}\nmax_retries: {max_retries}\nretry_window: {window}s\nbackoff: {{strategy: {strategy}, initial_delay: {initial}s, max_delay: {cap}s, multiplier: {mult}, jitter: none}}\n"
    )
}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(12_001), failure_persistence: None, ..Config::default() })]

    #[test]
    fn the_schedule_is_what_decide_does_failure_after_failure(
        enabled in prop::bool::weighted(0.9),
        max_retries in 0u32..8,
        window in 60u64..200_000,
        strategy in prop::sample::select(vec!["fixed", "linear", "exponential"]),
        initial in 1u64..3_600,
        extra in 0u64..20_000,
        mult in 1.0f64..10.0,
    ) {
        let mult = (mult * 10.0).round() / 10.0;
        let yaml = policy_yaml(enabled, max_retries, window, strategy, initial, initial + extra, mult);
        let file: PolicyFile = serde_yaml::from_str(&yaml).unwrap();
        let merged = Policy::default().merged(&file);
        let plan = schedule(&merged, None);
        let policy = FlowPolicy::Usable(ResolvedPolicy::new("f.yaml".into(), merged).unwrap());

        // Failure n happens when restart n-1 runs; it fails at once.
        let mut records = Vec::new();
        let mut at = t0();
        let mut n = 1u32;
        loop {
            let (event, record) = failure(n, at);
            records.push(record);
            let d = decide(&event, &records, &policy, at, &mut SplitMix64::new(u64::from(n))).unwrap();
            let step = plan.restarts.get(n as usize - 1);
            if d.action != Action::Retry {
                prop_assert!(step.is_none(), "{yaml}: decide ended at failure {n} ({}), the plan restarts it", d.reason);
                prop_assert_eq!(plan.end.failure, n, "{}", yaml);
                let expected = if d.action == Action::Skip { PlanOutcome::Skip } else { PlanOutcome::GiveUp };
                prop_assert_eq!(plan.end.outcome, expected, "{}: {}", yaml, d.reason);
                break;
            }
            let step = step.unwrap_or_else(|| panic!("{yaml}: decide restarts failure {n}, the plan ended"));
            let delay = d.delay_seconds.unwrap();
            prop_assert_eq!((step.attempt, step.min_delay_seconds, step.max_delay_seconds), (n, delay, delay), "{}", yaml);
            prop_assert_eq!(step.outcome, PlanOutcome::Retry, "{}", yaml);
            prop_assert_eq!(d.attempt, Some(n));
            at += TimeDelta::seconds(i64::try_from(delay).unwrap());
            prop_assert_eq!(step.earliest_offset_seconds, u64::try_from((at - t0()).num_seconds()).unwrap());
            n += 1;
        }
    }
}
