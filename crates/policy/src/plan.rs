//! The restart schedule of a policy for one error class: what `appflow-retry
//! plan` shows. It follows the same rules as [`crate::decide()`], assuming
//! each restarted run fails at once (real runs add their own duration).

use serde::Serialize;

use crate::model::{Backoff, Policy};
use crate::outcome::PlanOutcome;

/// One restart of the schedule. Offsets count from the streak's first failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRestart {
    /// The restart's number in the streak, from 1 (rule 7's attempt).
    pub attempt: u32,
    /// The delay before jitter (rule 10's base, capped at `max_delay`), whole seconds.
    pub base_delay_seconds: u64,
    /// The shortest delay jitter can give, whole seconds.
    pub min_delay_seconds: u64,
    /// The longest delay jitter can give, whole seconds.
    pub max_delay_seconds: u64,
    /// When the restart happens at the earliest (every delay at its minimum).
    pub earliest_offset_seconds: u64,
    /// When the restart happens at the latest (every delay at its maximum).
    pub latest_offset_seconds: u64,
    /// `retry`, or `retry_or_give_up` when jitter decides whether the restart
    /// still lands inside the retry window.
    pub outcome: PlanOutcome,
}

/// How the schedule ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanEnd {
    /// The failure that is not restarted (1 = the first failure).
    pub failure: u32,
    /// `give_up` or `skip`.
    pub outcome: PlanOutcome,
    /// Why the schedule ends there, as `appflow-retry plan` prints it.
    pub reason: String,
}

/// A policy's restart schedule for failures of one error class: every restart it allows and
/// how it ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    /// The error class planned for; None for a class without an override (the policy's own settings).
    pub class: Option<String>,
    /// The effective `max_retries` for the class.
    pub max_retries: u32,
    /// The effective `retry_window` for the class, in seconds.
    pub retry_window_seconds: u64,
    /// The effective backoff for the class.
    pub backoff: Backoff,
    /// The restarts, in order; empty when the flow is disabled or the class is skipped.
    pub restarts: Vec<PlannedRestart>,
    /// How the schedule ends.
    pub end: PlanEnd,
}

/// The schedule for failures of `class` (None: a class without an override).
pub fn schedule(policy: &Policy, class: Option<&str>) -> Schedule {
    let settings = policy.for_class(class.unwrap_or(""));
    let window = settings.retry_window.as_secs();
    let mut out = Schedule {
        class: class.map(str::to_owned),
        max_retries: settings.max_retries,
        retry_window_seconds: window,
        backoff: settings.backoff.clone(),
        restarts: Vec::new(),
        end: PlanEnd {
            failure: 1,
            outcome: PlanOutcome::Skip,
            reason: String::new(),
        },
    };
    if !policy.enabled {
        out.end.reason = "retries are disabled for this flow (enabled: false)".into();
        return out;
    }
    if let Some(c) = class.filter(|c| policy.skip_errors.iter().any(|s| s.as_str() == *c)) {
        out.end.reason = format!("error class {c} is in skip_errors: never restarted");
        return out;
    }
    let (mut earliest, mut latest) = (0u64, 0u64);
    for attempt in 1..=settings.max_retries.saturating_add(1) {
        let give_up = |reason: String| PlanEnd {
            failure: attempt,
            outcome: PlanOutcome::GiveUp,
            reason,
        };
        if attempt > settings.max_retries {
            out.end = give_up(format!("max_retries {} is used up", settings.max_retries));
            break;
        }
        if earliest >= window {
            out.end = give_up("the retry window has passed".into());
            break;
        }
        let (lo, hi) = settings.backoff.delay_range(attempt);
        let (lo, hi) = (lo.floor() as u64, hi.floor() as u64);
        if earliest + lo > window {
            out.end = give_up(format!(
                "a restart after at least {} would be past the retry window",
                crate::Duration::from_secs(lo)
            ));
            break;
        }
        let certain = latest < window && latest + hi <= window;
        earliest += lo;
        latest += hi;
        out.restarts.push(PlannedRestart {
            attempt,
            base_delay_seconds: settings.backoff.base_delay(attempt).floor() as u64,
            min_delay_seconds: lo,
            max_delay_seconds: hi,
            earliest_offset_seconds: earliest,
            latest_offset_seconds: latest,
            outcome: if certain {
                PlanOutcome::Retry
            } else {
                PlanOutcome::RetryOrGiveUp
            },
        });
    }
    out
}

/// One re-activation of a deactivated scheduled or event flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedReactivation {
    /// The deactivation in the streak (1 = the first).
    pub deactivation: u32,
    /// The delay before jitter (rule 10 with `reactivate.backoff`), whole seconds.
    pub base_delay_seconds: u64,
    /// The shortest delay jitter can give, whole seconds.
    pub min_delay_seconds: u64,
    /// The longest delay jitter can give, whole seconds.
    pub max_delay_seconds: u64,
}

/// The re-activation schedule of a policy (docs/design.md §4, R7–R10):
/// None when `reactivate.enabled` is false. Deactivation n of a streak is
/// re-activated after the `reactivate.backoff` delay for n, up to
/// `max_reactivations`; the next one stays off. How far apart
/// deactivations are depends on the flow's schedule and threshold, so the
/// retry window's cut is stated, not computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReactivationSchedule {
    /// The policy's `reactivate.max_reactivations` (R8).
    pub max_reactivations: u32,
    /// The reason class's `retry_window`, in seconds (R9, R10).
    pub retry_window_seconds: u64,
    /// The policy's `reactivate.backoff` (R10).
    pub backoff: Backoff,
    /// The deactivations re-activated, in order (at most `max_reactivations`).
    pub reactivations: Vec<PlannedReactivation>,
    /// How the schedule ends: the next deactivation is given up (`give_up`).
    pub end: PlanEnd,
}

/// The re-activation schedule for deactivations whose reason is of `class`.
pub fn reactivation_schedule(policy: &Policy, class: Option<&str>) -> Option<ReactivationSchedule> {
    let r = &policy.reactivate;
    if !r.enabled {
        return None;
    }
    let window = policy.for_class(class.unwrap_or("")).retry_window;
    let mut out = ReactivationSchedule {
        max_reactivations: r.max_reactivations,
        retry_window_seconds: window.as_secs(),
        backoff: r.backoff.clone(),
        reactivations: Vec::new(),
        end: PlanEnd {
            failure: 1,
            outcome: PlanOutcome::Skip,
            reason: String::new(),
        },
    };
    if !policy.enabled {
        out.end.reason = "appflow-retry is disabled for this flow (enabled: false)".into();
        return Some(out);
    }
    if let Some(c) = class.filter(|c| policy.skip_errors.iter().any(|s| s.as_str() == *c)) {
        out.end.reason = format!("error class {c} is in skip_errors: never re-activated");
        return Some(out);
    }
    for n in 1..=r.max_reactivations {
        let (lo, hi) = r.backoff.delay_range(n);
        out.reactivations.push(PlannedReactivation {
            deactivation: n,
            base_delay_seconds: r.backoff.base_delay(n).floor() as u64,
            min_delay_seconds: lo.floor() as u64,
            max_delay_seconds: hi.floor() as u64,
        });
    }
    out.end = PlanEnd {
        failure: r.max_reactivations.saturating_add(1),
        outcome: PlanOutcome::GiveUp,
        reason: format!(
            "max_reactivations {} is used up (deactivations are counted as failed runs in a row within retry_window {window}, divided by the flow's threshold); a re-activation that would land past the window also gives up",
            r.max_reactivations
        ),
    };
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PolicyFile;

    fn policy(yaml: &str) -> Policy {
        Policy::default().merged(&serde_yaml::from_str::<PolicyFile>(yaml).unwrap())
    }

    #[test]
    fn exponential_schedule_until_max_retries() {
        let s = schedule(&policy("backoff: {jitter: none}"), None);
        let offsets: Vec<_> = s
            .restarts
            .iter()
            .map(|r| (r.base_delay_seconds, r.earliest_offset_seconds))
            .collect();
        assert_eq!(offsets, [(120, 120), (240, 360), (480, 840)]);
        assert_eq!((s.end.failure, s.end.outcome), (4, PlanOutcome::GiveUp));
        assert!(s.end.reason.contains("max_retries 3"));
    }

    #[test]
    fn the_window_cuts_the_schedule_and_jitter_makes_it_uncertain() {
        let s = schedule(
            &policy("max_retries: 10\nretry_window: 10m\nbackoff: {strategy: fixed, initial_delay: 4m, jitter: equal}"),
            None,
        );
        let outcomes: Vec<_> = s.restarts.iter().map(|r| r.outcome).collect();
        // Restart 1 at 2-4m, 2 at 4-8m, 3 at 6-12m (may pass 10m), 4 at 8-16m,
        // 5 at 10-20m (at the earliest exactly on the window's end: allowed).
        assert_eq!(
            outcomes,
            [
                PlanOutcome::Retry,
                PlanOutcome::Retry,
                PlanOutcome::RetryOrGiveUp,
                PlanOutcome::RetryOrGiveUp,
                PlanOutcome::RetryOrGiveUp
            ]
        );
        assert_eq!(s.restarts[4].earliest_offset_seconds, 600);
        assert_eq!(s.end.failure, 6);
        assert!(s.end.reason.contains("retry window has passed"), "{}", s.end.reason);
        // A longer delay is cut before it lands past the window.
        let s = schedule(
            &policy("retry_window: 10m\nbackoff: {strategy: fixed, initial_delay: 11m, max_delay: 11m, jitter: none}"),
            None,
        );
        assert!(s.restarts.is_empty());
        assert_eq!(s.end.failure, 1);
        assert!(s.end.reason.contains("after at least 11m"), "{}", s.end.reason);
    }

    #[test]
    fn skipped_and_disabled() {
        assert_eq!(schedule(&policy(""), Some("auth")).end.outcome, PlanOutcome::Skip);
        assert!(schedule(&policy(""), Some("auth")).restarts.is_empty());
        assert_eq!(schedule(&policy("enabled: false"), None).end.outcome, PlanOutcome::Skip);
    }

    #[test]
    fn reactivation_schedule_follows_the_reactivate_section() {
        assert_eq!(reactivation_schedule(&policy(""), None), None, "off by default");
        let s = reactivation_schedule(
            &policy("reactivate: {enabled: true, max_reactivations: 2, backoff: {initial_delay: 5m, jitter: none}}"),
            None,
        )
        .unwrap();
        let delays: Vec<_> = s.reactivations.iter().map(|r| r.base_delay_seconds).collect();
        assert_eq!(delays, [300, 600]);
        assert_eq!((s.end.failure, s.end.outcome), (3, PlanOutcome::GiveUp));
        let s = reactivation_schedule(&policy("reactivate: {enabled: true}"), Some("auth")).unwrap();
        assert_eq!((s.reactivations.len(), s.end.outcome), (0, PlanOutcome::Skip));
    }

    #[test]
    fn class_overrides_apply() {
        let s = schedule(
            &policy("overrides: {throttling: {max_retries: 1, backoff: {strategy: fixed, initial_delay: 1h}}}"),
            Some("throttling"),
        );
        assert_eq!(s.restarts.len(), 1);
        assert_eq!(s.restarts[0].base_delay_seconds, 3600);
    }
}
