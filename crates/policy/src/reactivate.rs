//! `decide_reactivation()`: what to do when AppFlow deactivated a scheduled
//! or event flow after failures (docs/design.md §4, re-activation rules R1–R10).
//!
//! Two phases, like [`crate::decide()`]: [`reactivation_precheck`] applies the
//! rules that need only the event and the policy (R1–R4);
//! [`PendingReactivation::decide`] the rest, given the flow's run records and
//! its deactivation threshold from DescribeFlow. Every decision that does not
//! re-activate the flow is notified, whatever `notify` says: a flow left off
//! must reach a person.

use chrono::{DateTime, TimeDelta, Utc};

use crate::appflow::{DeactivationEvent, RunRecord, truncate_message};
use crate::backoff::RandomSource;
use crate::decide::{Decision, Verdict, error_streak, format_time, newest_newer_run, runs_newest_first};
use crate::duration::Duration;
use crate::model::Action;
use crate::set::{FlowPolicy, ResolvedPolicy};

/// The outcome of the re-activation rules that need no history.
#[derive(Debug)]
pub enum ReactivationPrecheck<'a> {
    /// R1–R4 settled it (a broken policy, `enabled` or `reactivate.enabled` false, a skipped
    /// class): no history needed.
    Decided(Decision),
    /// R5–R10 need the flow's run records and its deactivation threshold: pass them to
    /// [`PendingReactivation::decide`].
    NeedsHistory(PendingReactivation<'a>),
}

/// A re-activation decision waiting for the flow's run records and threshold.
#[derive(Debug)]
pub struct PendingReactivation<'a> {
    event: &'a DeactivationEvent,
    policy: &'a ResolvedPolicy,
    now: DateTime<Utc>,
    class: String,
}

/// The deactivation's time: the event's `time`, else `now` (an event named
/// by its id only).
pub fn deactivated_at(event: &DeactivationEvent, now: DateTime<Utc>) -> DateTime<Utc> {
    event.time.unwrap_or(now)
}

/// R1–R4: a broken policy, a disabled policy or re-activation, a reason
/// whose class is in `skip_errors`. None of these needs the history.
pub fn reactivation_precheck<'a>(
    event: &'a DeactivationEvent,
    policy: &'a FlowPolicy,
    now: DateTime<Utc>,
) -> ReactivationPrecheck<'a> {
    let at = deactivated_at(event, now);
    let policy = match policy {
        FlowPolicy::Usable(p) => p,
        FlowPolicy::Broken(b) => {
            // R1.
            return ReactivationPrecheck::Decided(Decision {
                flow: event.flow_name.clone(),
                execution_id: event.deactivation_id(),
                failed_run_started_at: at,
                policy: b.source.clone(),
                error_class: None,
                attempt: None,
                max_retries: 0,
                action: Action::Skip,
                delay_seconds: None,
                reason: truncate_message(&format!(
                    "the flow stays deactivated: its policy cannot be used, so nothing is re-activated until it is fixed: {}",
                    b.summary()
                ))
                .into_owned(),
                notify_on: Vec::new(),
                notify: true,
            });
        }
    };
    let p = &policy.policy;
    let skip = |class: Option<String>, reason: String| {
        ReactivationPrecheck::Decided(conclude(event, policy, at, Verdict::skip(class, reason)))
    };
    // R2, R3.
    if !p.enabled {
        return skip(
            None,
            "the flow stays deactivated: appflow-retry is disabled for it (enabled: false)".into(),
        );
    }
    if !p.reactivate.enabled {
        return skip(
            None,
            "the flow stays deactivated: re-activation is not enabled for it (reactivate.enabled: false)".into(),
        );
    }
    // R4.
    let class = policy
        .classifier
        .classify(event.reason.as_deref().unwrap_or_default())
        .to_owned();
    if p.skip_errors.iter().any(|c| c.as_str() == class) {
        return skip(
            Some(class.clone()),
            format!(
                "the flow stays deactivated: the reason's error class {class} is in skip_errors, a re-activation would fail the same way"
            ),
        );
    }
    ReactivationPrecheck::NeedsHistory(PendingReactivation {
        event,
        policy,
        now,
        class,
    })
}

/// The whole re-activation decision for one deactivation.
pub fn decide_reactivation(
    event: &DeactivationEvent,
    policy: &FlowPolicy,
    records: &[RunRecord],
    threshold: u32,
    now: DateTime<Utc>,
    rng: &mut dyn RandomSource,
) -> Decision {
    match reactivation_precheck(event, policy, now) {
        ReactivationPrecheck::Decided(d) => d,
        ReactivationPrecheck::NeedsHistory(pending) => pending.decide(records, threshold, rng),
    }
}

/// How many times the flow has been deactivated in the current streak, this
/// deactivation included (R7): `max(1, ⌊errors / max(threshold, 1)⌋)`, where
/// `errors` counts the `Error` records at or before the deactivation, newest
/// first, stopping at the first record of another status or older than the
/// deactivation's time − `window`. Returns that count and the streak's start
/// (the oldest counted failure's time, else the deactivation's).
pub fn deactivations_in_streak(
    records: &[RunRecord],
    threshold: u32,
    deactivated_at: DateTime<Utc>,
    window: Duration,
) -> (u32, DateTime<Utc>) {
    let (errors, streak_start) = failures_before_deactivation(records, deactivated_at, window);
    let per = usize::try_from(threshold.max(1)).unwrap_or(usize::MAX);
    let n = u32::try_from((errors / per).max(1)).unwrap_or(u32::MAX);
    (n, streak_start)
}

/// R7's `e`: how many `Error` records lead the history at or before the
/// deactivation, newest first, within `window` before it, and the streak's
/// start (the oldest counted failure's time, else the deactivation's). Zero
/// means no failed run shows in the history just before the deactivation: a
/// person stopped the flow, AppFlow did not deactivate it.
pub fn failures_before_deactivation(
    records: &[RunRecord],
    deactivated_at: DateTime<Utc>,
    window: Duration,
) -> (usize, DateTime<Utc>) {
    let older = runs_newest_first(records, None, |t| t <= deactivated_at);
    let (errors, oldest) = error_streak(&older, deactivated_at - window.as_chrono());
    (errors, oldest.unwrap_or(deactivated_at))
}

/// How long after its failing run ends AppFlow deactivates a flow, at most:
/// AppFlow deactivates right after the run that reaches the threshold, so the
/// newest run at or before a real deactivation is an `Error` that ended at
/// most this long before it (docs/design.md §5.6). An assumption (README's
/// list): if AppFlow ever takes longer, a real re-activation is skipped and
/// told, never a wrong one done.
pub const DEACTIVATION_LAG: TimeDelta = TimeDelta::minutes(15);

/// Whether the history read shows that AppFlow deactivated the flow at
/// `deactivated_at`, with deactivation `threshold` (DescribeFlow's
/// `flowErrorDeactivationThreshold`; 1 for event flows and when unknown):
/// the newest run at or before it is an `Error` whose end (`lastUpdatedAt`,
/// else its time) is at most [`DEACTIVATION_LAG`] before it, and the
/// consecutive `Error` runs just before it reach `threshold`, unless they
/// run to the oldest record read (the count is then indeterminate, which is
/// no evidence against). `Err` says why not, for the notification.
pub fn deactivation_evidence(
    records: &[RunRecord],
    deactivated_at: DateTime<Utc>,
    threshold: u32,
) -> Result<(), String> {
    let before = runs_newest_first(records, None, |t| t <= deactivated_at);
    let Some((t, newest)) = before.first() else {
        return Err(format!(
            "no run at or before the deactivation at {} in the flow's history: AppFlow deactivates a flow only after failed runs",
            format_time(deactivated_at)
        ));
    };
    if newest.status != crate::appflow::RunStatus::Error {
        return Err(format!(
            "the newest run before the deactivation at {}, {} ({}), did not fail: AppFlow deactivates a flow right after a failed run, so a person stopped it",
            format_time(deactivated_at),
            newest.execution_id,
            newest.status.as_str()
        ));
    }
    let ended = newest.last_updated_at.unwrap_or(*t);
    if ended < deactivated_at - DEACTIVATION_LAG {
        return Err(format!(
            "the newest failed run before the deactivation at {}, {}, ended {}, more than {} min before it: AppFlow deactivates a flow right after the failing run",
            format_time(deactivated_at),
            newest.execution_id,
            format_time(ended),
            DEACTIVATION_LAG.num_minutes()
        ));
    }
    let errors = before
        .iter()
        .take_while(|(_, r)| r.status == crate::appflow::RunStatus::Error)
        .count();
    let threshold = usize::try_from(threshold.max(1)).unwrap_or(usize::MAX);
    if errors < threshold && errors < before.len() {
        return Err(format!(
            "only {errors} failed run(s) in a row before the deactivation at {}, below the flow's deactivation threshold {threshold}: AppFlow cannot have deactivated it, a person stopped it",
            format_time(deactivated_at)
        ));
    }
    Ok(())
}

/// The restart's own re-activation decision (docs/design.md §5.6): R1–R10
/// applied again, after the wait, to facts the restart reads itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ReactivationRedecision {
    /// The decision R1–R10 give for the facts.
    pub decision: Decision,
    /// R7's `e` at the deactivation ([`failures_before_deactivation`]) in the window of the
    /// decision's class: the failed runs that show AppFlow deactivated the flow.
    pub failures: usize,
    /// The end of the streak's `retry_window` (R9): no re-activation's wait may end past it.
    pub window_end: DateTime<Utc>,
}

/// Re-decides the deactivation of `flow` (a `kind` flow with deactivation
/// `threshold`) at `deactivated_at`, at time `at`, through
/// [`decide_reactivation`]: the deactivation's reason is the newest failed
/// run's `executionMessage` at or before the deactivation (a fact read from
/// the history; the event's reason is not kept anywhere the restart can
/// read it without trusting its input), the history is taken as of `at`, and
/// the seed is on-failure's (SplitMix64 of the deactivation id).
pub fn redecide_reactivation(
    flow: &str,
    kind: crate::appflow::DeactivatedKind,
    deactivated_at: DateTime<Utc>,
    records: &[RunRecord],
    threshold: u32,
    policy: &FlowPolicy,
    at: DateTime<Utc>,
) -> ReactivationRedecision {
    let as_of = crate::decide::history_as_of(records, at);
    let before = runs_newest_first(&as_of, None, |t| t <= deactivated_at);
    let reason = before
        .iter()
        .find(|(_, r)| r.status == crate::appflow::RunStatus::Error)
        .and_then(|(_, r)| r.message.clone())
        .filter(|m| !m.is_empty());
    let event = DeactivationEvent {
        flow_name: flow.to_owned(),
        kind,
        reason,
        reason_field: None,
        time: Some(deactivated_at),
        event_id: None,
    };
    let mut rng = crate::backoff::SplitMix64::for_execution(&event.deactivation_id());
    let decision = decide_reactivation(&event, policy, &as_of, threshold, at, &mut rng);
    let window = match (policy, decision.error_class.as_deref()) {
        (FlowPolicy::Usable(p), Some(class)) => p.policy.for_class(class).retry_window,
        (FlowPolicy::Usable(p), None) => p.policy.retry_window,
        (FlowPolicy::Broken(_), _) => Duration::from_secs(0),
    };
    let (failures, streak_start) = failures_before_deactivation(&as_of, deactivated_at, window);
    ReactivationRedecision {
        decision,
        failures,
        window_end: streak_start + window.as_chrono(),
    }
}

impl PendingReactivation<'_> {
    /// The policy this decision is made with.
    pub fn policy(&self) -> &ResolvedPolicy {
        self.policy
    }

    /// How far before the deactivation the decision looks.
    pub fn window(&self) -> Duration {
        self.policy.policy.for_class(&self.class).retry_window
    }

    /// R5: the flow no longer exists (DescribeFlow or its history answers not found).
    pub fn flow_gone(self) -> Decision {
        let at = deactivated_at(self.event, self.now);
        conclude(
            self.event,
            self.policy,
            at,
            Verdict::skip(
                Some(self.class),
                "the flow no longer exists: nothing to re-activate".into(),
            ),
        )
    }

    /// R6–R10, given the flow's run records (any order) and its
    /// `flowErrorDeactivationThreshold` (1 for event flows, and when unknown).
    pub fn decide(self, records: &[RunRecord], threshold: u32, rng: &mut dyn RandomSource) -> Decision {
        let PendingReactivation {
            event,
            policy,
            now,
            class,
        } = self;
        let at = deactivated_at(event, now);
        let r = &policy.policy.reactivate;
        let window = policy.policy.for_class(&class).retry_window;
        let done = |attempt: Option<u32>, action: Action, delay: Option<u64>, reason: String| {
            conclude(
                event,
                policy,
                at,
                Verdict::of_class(&class, attempt, action, delay, reason),
            )
        };

        // R6. A run after the deactivation: the flow is active again.
        if let Some((t, rec)) = newest_newer_run(records, "", at) {
            return done(
                None,
                Action::Skip,
                None,
                format!(
                    "the flow ran after it was deactivated (run {}, {}, started {}): it is active again",
                    rec.execution_id,
                    rec.status.as_str(),
                    format_time(t)
                ),
            );
        }

        // R7. Deactivations in this streak, this one included.
        let (n, streak_start) = deactivations_in_streak(records, threshold, at, window);

        // R8–R9. Out of re-activations, or out of time.
        if n > r.max_reactivations {
            return done(
                Some(n),
                Action::GiveUp,
                None,
                format!(
                    "the flow stays deactivated: deactivation {n} within {window} (threshold {}), max_reactivations {} is used up",
                    threshold.max(1),
                    r.max_reactivations
                ),
            );
        }
        let window_end = streak_start + window.as_chrono();
        if now >= window_end {
            return done(
                Some(n),
                Action::GiveUp,
                None,
                format!(
                    "the flow stays deactivated: its failure streak began {} and retry_window {window} has passed",
                    format_time(streak_start)
                ),
            );
        }

        // R10. The delay, and whether the re-activation still lands in the window.
        let delay = r.backoff.delay(n, rng);
        if now + Duration::from_secs(delay).as_chrono() > window_end {
            return done(
                Some(n),
                Action::GiveUp,
                None,
                format!(
                    "the flow stays deactivated: a re-activation after {} would be past the retry_window {window} of the streak that began {}",
                    Duration::from_secs(delay),
                    format_time(streak_start)
                ),
            );
        }
        done(
            Some(n),
            Action::Reactivate,
            Some(delay),
            format!(
                "re-activation {n} of {} after {} ({} backoff, jitter {}; {} deactivated it, threshold {})",
                r.max_reactivations,
                Duration::from_secs(delay),
                r.backoff.strategy.as_str(),
                r.backoff.jitter.as_str(),
                event
                    .reason
                    .as_deref()
                    .map_or_else(|| "AppFlow".to_owned(), |m| format!("AppFlow ({m})")),
                threshold.max(1),
            ),
        )
    }
}

fn conclude(event: &DeactivationEvent, policy: &ResolvedPolicy, at: DateTime<Utc>, verdict: Verdict) -> Decision {
    let action = verdict.action;
    let notify_on = policy.policy.notify.clone();
    Decision {
        flow: event.flow_name.clone(),
        execution_id: event.deactivation_id(),
        failed_run_started_at: at,
        policy: policy.source.clone(),
        error_class: verdict.error_class,
        attempt: verdict.attempt,
        max_retries: policy.policy.reactivate.max_reactivations,
        action,
        delay_seconds: verdict.delay_seconds,
        reason: truncate_message(&verdict.reason).into_owned(),
        // A deactivation that is not re-activated is always told.
        notify: action != Action::Reactivate || notify_on.contains(&action),
        notify_on,
    }
}

/// The deactivation id on-failure gives a deactivation at `t` (the
/// event's `time`): `deactivated-<YYYYMMDDThhmmssZ>`, as
/// [`DeactivationEvent::deactivation_id`] derives it.
pub fn deactivation_id_at(t: DateTime<Utc>) -> String {
    DeactivationEvent {
        flow_name: String::new(),
        kind: crate::appflow::DeactivatedKind::Scheduled,
        reason: None,
        reason_field: None,
        time: Some(t),
        event_id: None,
    }
    .deactivation_id()
}
