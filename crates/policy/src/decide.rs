//! `decide()`: what to do with one failed run (docs/design.md §4).
//!
//! Two phases, so that the Lambda reads no history when it does not need to:
//! [`precheck`] applies the rules that need only the event and the policy
//! (the policy's state, steps 2–3, and a cancel in the event from step 6);
//! [`Pending::decide`] the rest, given the flow's run records. A failure whose
//! own final record is not among them is not decided at all ([`Undecided`]).

use std::cmp::Ordering;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::appflow::{FailureEvent, RunRecord, RunStatus, truncate_message};
use crate::backoff::RandomSource;
use crate::duration::Duration;
use crate::model::Action;
use crate::set::{BrokenPolicy, FlowPolicy, ResolvedPolicy};

/// A decision: what `appflow-retry explain` prints and what the state
/// machine receives as `decision`. The key set is a contract (docs/design.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The AppFlow flow's name, as in the event's `detail.flow-name`.
    pub flow: String,
    /// The failed run's execution id (for a deactivation, its `deactivated-...` id; for a
    /// recovery, the successful run's id).
    pub execution_id: String,
    /// When the failed run started (rule 6's run time), RFC 3339 UTC with the precision
    /// AppFlow gave; the restart checks it against the run's record (docs/design.md §6.8).
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub failed_run_started_at: DateTime<Utc>,
    /// The flow file's path (CLI), its SSM parameter name (Lambda), or `default`.
    pub policy: String,
    /// Null when the decision came before classification.
    pub error_class: Option<String>,
    /// Null when the decision came before the history was read.
    pub attempt: Option<u32>,
    /// The effective `max_retries` for the failure's class (for a deactivation,
    /// `max_reactivations`; 0 for a broken policy).
    pub max_retries: u32,
    /// What to do: `retry`, `give_up` or `skip` (also `reactivate` and `recovered`); the state
    /// machine routes on it.
    pub action: Action,
    /// Present for `retry` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<u64>,
    /// Why, in one sentence a person reads in the notification (names the rule that decided).
    pub reason: String,
    /// The effective `notify` list.
    pub notify_on: Vec<Action>,
    /// Whether a person is told: `notify_on` holds this decision's action,
    /// or the decision is one that is always told (a broken policy).
    pub notify: bool,
}

fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*t))
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    crate::appflow::parse_time(&s).map_err(serde::de::Error::custom)
}

/// RFC 3339 in UTC with as many fraction digits as the time has (0, 3, 6 or 9),
/// so a time read from AppFlow round-trips exactly.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The outcome of the rules that need no history.
#[derive(Debug)]
pub enum Precheck<'a> {
    /// The rules 1–3 (or the event's half of rule 6) settled it: no history needed.
    Decided(Decision),
    /// The rules 4–11 need the flow's run records: pass them to [`Pending::decide`].
    NeedsHistory(Pending<'a>),
}

/// A decision waiting for the flow's run records.
#[derive(Debug)]
pub struct Pending<'a> {
    event: &'a FailureEvent,
    policy: &'a ResolvedPolicy,
}

/// Why a failure cannot be decided now (docs/design.md §4 rule 6): the
/// decision waits for the facts, and the Lambda retries the event later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undecided {
    #[error(
        "the failed run {execution_id} is not among the flow's {records} run records read: no decision without its own record"
    )]
    /// The failed run is not among the records read to the history's end (`records` of them).
    FailedRunNotFound {
        /// The failed run's execution id, from the event.
        execution_id: String,
        /// How many run records were read.
        records: usize,
    },
    /// The failed run's record is `InProgress` or of an unknown status (`status`).
    #[error("the failed run {execution_id}'s record is {status}, not final: no decision until it is")]
    FailedRunNotFinal {
        /// The failed run's execution id, from the event.
        execution_id: String,
        /// The record's `executionStatus` as AppFlow spells it.
        status: String,
    },
}

impl Undecided {
    /// The error's stable name (the Lambda error type).
    pub fn error_type(&self) -> &'static str {
        match self {
            Undecided::FailedRunNotFound { .. } => "FailedRunNotFound",
            Undecided::FailedRunNotFinal { .. } => "FailedRunNotFinal",
        }
    }
}

/// Step 1 (fail closed), steps 2–3, and the event's half of step 6: the
/// policy cannot be used or is disabled, the run was cancelled, or it cannot
/// be re-run on demand. None of these needs the flow's history.
pub fn precheck<'a>(event: &'a FailureEvent, policy: &'a FlowPolicy) -> Precheck<'a> {
    let policy = match policy {
        FlowPolicy::Usable(p) => p,
        FlowPolicy::Broken(b) => return Precheck::Decided(broken_policy(event, b)),
    };
    let p = &policy.policy;
    let skip_decision = |reason: String| {
        conclude(
            event,
            policy,
            record_or_event_time(event, None),
            p.max_retries,
            Verdict::skip(None, reason),
        )
    };
    let skip = |reason: String| Precheck::Decided(skip_decision(reason));
    if !p.enabled {
        return skip("retries are disabled for this flow (enabled: false)".into());
    }
    if event.is_cancelled() {
        return skip(format!(
            "the run was cancelled (event status \"{}\"): a person stopped it",
            event.status.as_deref().unwrap_or_default()
        ));
    }
    if !event.is_on_demand() {
        let t = event.trigger_type.as_deref().unwrap_or_default();
        let mut d = skip_decision(format!(
            "trigger type {t}: AppFlow cannot re-run a scheduled or event-triggered flow on demand (StartFlow only re-activates it)"
        ));
        // Rule 3: with re-activation enabled, the deactivation is the one
        // message of the incident, not each failed run.
        if p.reactivate.enabled {
            d.notify = false;
            d.reason
                .push_str("; reactivate.enabled: the deactivation, if any, is notified instead");
        }
        return Precheck::Decided(d);
    }
    Precheck::NeedsHistory(Pending { event, policy })
}

/// The decision for a flow whose policy cannot be used: skip, always told.
pub fn broken_policy(event: &FailureEvent, broken: &BrokenPolicy) -> Decision {
    Decision {
        flow: event.flow_name.clone(),
        execution_id: event.execution_id.clone(),
        failed_run_started_at: record_or_event_time(event, None),
        policy: broken.source.clone(),
        error_class: None,
        attempt: None,
        max_retries: 0,
        action: Action::Skip,
        delay_seconds: None,
        reason: truncate_message(&format!(
            "the flow's policy cannot be used, so nothing is restarted until it is fixed: {}",
            broken.summary()
        ))
        .into_owned(),
        notify_on: Vec::new(),
        notify: true,
    }
}

/// The whole decision for one failed run.
pub fn decide(
    event: &FailureEvent,
    records: &[RunRecord],
    policy: &FlowPolicy,
    now: DateTime<Utc>,
    rng: &mut dyn RandomSource,
) -> Result<Decision, Undecided> {
    match precheck(event, policy) {
        Precheck::Decided(d) => Ok(d),
        Precheck::NeedsHistory(pending) => pending.decide(records, now, rng),
    }
}

impl Pending<'_> {
    /// The policy this decision is made with.
    pub fn policy(&self) -> &ResolvedPolicy {
        self.policy
    }

    /// The decision when the flow no longer exists (AppFlow answers "not
    /// found" for its history): skip, notified as the policy says.
    pub fn flow_gone(self) -> Decision {
        let Pending { event, policy } = self;
        conclude(
            event,
            policy,
            record_or_event_time(event, None),
            policy.policy.max_retries,
            Verdict::skip(
                None,
                "the flow no longer exists: AppFlow has no run history for it".into(),
            ),
        )
    }

    /// Steps 4–11, given the run records read for the flow (any order).
    pub fn decide(
        self,
        records: &[RunRecord],
        now: DateTime<Utc>,
        rng: &mut dyn RandomSource,
    ) -> Result<Decision, Undecided> {
        let Pending { event, policy } = self;
        let failed = records.iter().find(|r| r.execution_id == event.execution_id);

        // 4. Classify; the class's settings apply from here on.
        let message = truncate_message(failure_message(event, failed));
        let class = policy.classifier.classify(&message).to_owned();
        let settings = policy.policy.for_class(&class);
        let window = settings.retry_window;
        let failed_at = record_or_event_time(event, failed);
        let done = |attempt: Option<u32>, action: Action, delay: Option<u64>, reason: String| {
            Ok(conclude(
                event,
                policy,
                failed_at,
                settings.max_retries,
                Verdict::of_class(&class, attempt, action, delay, reason),
            ))
        };

        // 5. Classes never restarted.
        if policy.policy.skip_errors.iter().any(|c| c.as_str() == class) {
            return done(
                None,
                Action::Skip,
                None,
                format!("error class {class} is in skip_errors: a restart would fail the same way"),
            );
        }

        // 6. The failed run's own record, final; cancelled or superseded runs.
        let Some(record) = failed else {
            return Err(Undecided::FailedRunNotFound {
                execution_id: event.execution_id.clone(),
                records: records.len(),
            });
        };
        match &record.status {
            RunStatus::Error => {}
            RunStatus::Canceled | RunStatus::CancelStarted => {
                return done(
                    None,
                    Action::Skip,
                    None,
                    format!("the failed run was stopped by a person ({})", record.status.as_str()),
                );
            }
            RunStatus::Successful => {
                return done(
                    None,
                    Action::Skip,
                    None,
                    "the failed run's record says it succeeded: nothing to restart".into(),
                );
            }
            RunStatus::InProgress | RunStatus::Other(_) => {
                return Err(Undecided::FailedRunNotFinal {
                    execution_id: event.execution_id.clone(),
                    status: record.status.as_str().to_owned(),
                });
            }
        }
        if let Some((t, r)) = newest_newer_run(records, &event.execution_id, failed_at) {
            return done(
                None,
                Action::Skip,
                None,
                format!(
                    "superseded: a newer run {} ({}, started {}) exists and is handled on its own",
                    r.execution_id,
                    r.status.as_str(),
                    format_time(t)
                ),
            );
        }

        // 7. The failure streak: Error runs just older than this one, within the window.
        let (counted, streak_start) = failure_streak(records, &event.execution_id, failed_at, window);
        let attempt = u32::try_from(counted).unwrap_or(u32::MAX).saturating_add(1);

        // 8–9. Out of restarts, or out of time.
        if attempt > settings.max_retries {
            return done(
                Some(attempt),
                Action::GiveUp,
                None,
                format!(
                    "failure {attempt} in a row within {window}: max_retries {} for class {class} is used up",
                    settings.max_retries
                ),
            );
        }
        let window_end = streak_start + window.as_chrono();
        if now >= window_end {
            return done(
                Some(attempt),
                Action::GiveUp,
                None,
                format!(
                    "the failure streak began {} and retry_window {window} has passed",
                    format_time(streak_start)
                ),
            );
        }

        // 10–11. The delay, and whether the restart still lands in the window.
        let delay = settings.backoff.delay(attempt, rng);
        let restart_at = now + Duration::from_secs(delay).as_chrono();
        if restart_at > window_end {
            return done(
                Some(attempt),
                Action::GiveUp,
                None,
                format!(
                    "a restart after {} would be past the retry_window {window} of the streak that began {}",
                    Duration::from_secs(delay),
                    format_time(streak_start)
                ),
            );
        }
        let b = &settings.backoff;
        done(
            Some(attempt),
            Action::Retry,
            Some(delay),
            format!(
                "restart {attempt} of {} for class {class} after {} ({} backoff, jitter {})",
                settings.max_retries,
                Duration::from_secs(delay),
                b.strategy.as_str(),
                b.jitter.as_str(),
            ),
        )
    }
}

/// Rule 7's failure streak before the failed run `execution_id` at
/// `failed_at`: how many `Error` runs just older than it lead the history
/// within `window`, and the streak's start (the oldest counted run's time,
/// else `failed_at`).
fn failure_streak(
    records: &[RunRecord],
    execution_id: &str,
    failed_at: DateTime<Utc>,
    window: Duration,
) -> (usize, DateTime<Utc>) {
    let older = runs_newest_first(records, Some(execution_id), |t| t < failed_at);
    let (counted, oldest) = error_streak(&older, failed_at - window.as_chrono());
    (counted, oldest.unwrap_or(failed_at))
}

/// The restart's own decision for a failed run (docs/design.md §6.8): the
/// rules of [`decide()`] applied again, after the wait, to the facts the
/// restart reads itself, never to its input.
#[derive(Debug, Clone, PartialEq)]
pub struct Redecision {
    /// The decision rules 1–11 give for the facts.
    pub decision: Decision,
    /// For a `retry`: the end of the failure streak's `retry_window`
    /// (streak start + the class's window), past which no wait may end.
    pub window_end: Option<DateTime<Utc>>,
}

/// The history as it was at `at`: runs that started after `at` are left
/// out (nobody deciding at `at` saw them), and a run whose record changed
/// after `at` counts as still `InProgress` (its final status came later).
pub fn history_as_of(records: &[RunRecord], at: DateTime<Utc>) -> Vec<RunRecord> {
    records
        .iter()
        .filter(|r| r.time().is_none_or(|t| t <= at))
        .map(|r| {
            let mut r = r.clone();
            if r.last_updated_at.is_some_and(|u| u > at) {
                r.status = RunStatus::InProgress;
            }
            r
        })
        .collect()
}

/// Re-decides the failed run `failed` of the on-demand flow `flow` at `at`
/// (docs/design.md §6.8): the failure is described by its own record
/// (status, time, `executionMessage`) instead of an event, the history is
/// taken as of `at` ([`history_as_of`]), and [`decide()`] applies rules 1–11
/// with the seed on-failure uses (SplitMix64 of the execution id), so that
/// the decision on-failure made at about `at` comes out again, delay
/// included. The caller checks that `failed` is final and ended by `at`.
pub fn redecide(
    flow: &str,
    failed: &RunRecord,
    records: &[RunRecord],
    policy: &FlowPolicy,
    at: DateTime<Utc>,
) -> Result<Redecision, Undecided> {
    let status = match &failed.status {
        RunStatus::Canceled => "Execution Canceled",
        RunStatus::CancelStarted => "Execution CancelStarted",
        RunStatus::Successful => "Execution Successful",
        _ => "Execution Failed",
    };
    let event = FailureEvent {
        flow_name: flow.to_owned(),
        execution_id: failed.execution_id.clone(),
        trigger_type: Some("ONDEMAND".to_owned()),
        status: Some(status.to_owned()),
        error: failed.message.clone().filter(|m| !m.is_empty()),
        start_time: failed.time(),
        time: failed.last_updated_at.or(failed.time()),
    };
    let mut as_of = history_as_of(records, at);
    // The failed run itself is final by `at` (the caller's check).
    if let Some(r) = as_of.iter_mut().find(|r| r.execution_id == failed.execution_id) {
        r.status = failed.status.clone();
    } else {
        as_of.push(failed.clone());
    }
    let mut rng = crate::backoff::SplitMix64::for_execution(&failed.execution_id);
    let decision = decide(&event, &as_of, policy, at, &mut rng)?;
    let window_end = match (policy, decision.action, decision.error_class.as_deref()) {
        (FlowPolicy::Usable(p), Action::Retry, Some(class)) => {
            let window = p.policy.for_class(class).retry_window;
            let (_, start) = failure_streak(&as_of, &failed.execution_id, decision.failed_run_started_at, window);
            Some(start + window.as_chrono())
        }
        _ => None,
    };
    Ok(Redecision { decision, window_end })
}

/// The runs that started strictly after the failed run (by their time, see
/// [`RunRecord::time`]): what makes a failure superseded (rule 6), and what
/// the restart re-checks after the wait.
pub fn newer_runs<'a>(
    records: &'a [RunRecord],
    failed_execution_id: &'a str,
    failed_at: DateTime<Utc>,
) -> impl Iterator<Item = (DateTime<Utc>, &'a RunRecord)> + 'a {
    records
        .iter()
        .filter(move |r| r.execution_id != failed_execution_id)
        .filter_map(|r| r.time().map(|t| (t, r)))
        .filter(move |(t, _)| *t > failed_at)
}

/// The newest of [`newer_runs`]: the run that supersedes a failure (rule 6)
/// or shows a deactivated flow ran again.
pub fn newest_newer_run<'a>(
    records: &'a [RunRecord],
    failed_execution_id: &'a str,
    failed_at: DateTime<Utc>,
) -> Option<(DateTime<Utc>, &'a RunRecord)> {
    newer_runs(records, failed_execution_id, failed_at).max_by_key(|(t, _)| *t)
}

/// The runs with a time that `keep` accepts (all but `exclude`, when given),
/// newest first in rule 7's order: at equal times a run that did not fail
/// comes first, so it ends a streak.
pub(crate) fn runs_newest_first<'a>(
    records: &'a [RunRecord],
    exclude: Option<&str>,
    keep: impl Fn(DateTime<Utc>) -> bool,
) -> Vec<(DateTime<Utc>, &'a RunRecord)> {
    let mut runs: Vec<(DateTime<Utc>, &RunRecord)> = records
        .iter()
        .filter(|r| exclude != Some(r.execution_id.as_str()))
        .filter_map(|r| r.time().map(|t| (t, r)))
        .filter(|(t, _)| keep(*t))
        .collect();
    runs.sort_by(|(ta, a), (tb, b)| tb.cmp(ta).then_with(|| error_last(a, b)));
    runs
}

/// Rule 7's failure streak in runs ordered by [`runs_newest_first`]: how
/// many `Error` runs at or after `since` lead them (counting stops at the
/// first run of another status or older than `since`), and the oldest
/// counted run's time (None when there is none).
pub(crate) fn error_streak(
    newest_first: &[(DateTime<Utc>, &RunRecord)],
    since: DateTime<Utc>,
) -> (usize, Option<DateTime<Utc>>) {
    let counted = newest_first
        .iter()
        .take_while(|(t, r)| *t >= since && r.status == RunStatus::Error)
        .count();
    (counted, counted.checked_sub(1).map(|i| newest_first[i].0))
}

/// AppFlow's message for the failed run: the event's `error`, else the run
/// record's (docs/design.md §4 rule 4), untruncated.
pub fn failure_message<'a>(event: &'a FailureEvent, record: Option<&'a RunRecord>) -> &'a str {
    event
        .error
        .as_deref()
        .or_else(|| record.and_then(|r| r.message.as_deref()))
        .unwrap_or_default()
}

/// Rule 7's order at equal times: a run that did not fail sorts first.
fn error_last(a: &RunRecord, b: &RunRecord) -> Ordering {
    (a.status == RunStatus::Error).cmp(&(b.status == RunStatus::Error))
}

/// The failed run's time: its record's when there is one, else the event's
/// start time, else the event's time.
fn record_or_event_time(event: &FailureEvent, record: Option<&RunRecord>) -> DateTime<Utc> {
    record
        .and_then(RunRecord::time)
        .or(event.start_time)
        .or(event.time)
        // Unreachable for parsed events: FailureEvent requires one of the two.
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// What one rule settles for a decision: the class, the attempt, the action,
/// the delay and why. The rest of the [`Decision`] comes from the failure
/// and the policy.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub error_class: Option<String>,
    pub attempt: Option<u32>,
    pub action: Action,
    pub delay_seconds: Option<u64>,
    pub reason: String,
}

impl Verdict {
    /// A verdict on a failure of `class`.
    pub(crate) fn of_class(
        class: &str,
        attempt: Option<u32>,
        action: Action,
        delay_seconds: Option<u64>,
        reason: String,
    ) -> Self {
        Verdict {
            error_class: Some(class.to_owned()),
            attempt,
            action,
            delay_seconds,
            reason,
        }
    }

    /// A skip, before any attempt is counted.
    pub(crate) fn skip(error_class: Option<String>, reason: String) -> Self {
        Verdict {
            error_class,
            attempt: None,
            action: Action::Skip,
            delay_seconds: None,
            reason,
        }
    }
}

fn conclude(
    event: &FailureEvent,
    policy: &ResolvedPolicy,
    failed_at: DateTime<Utc>,
    max_retries: u32,
    verdict: Verdict,
) -> Decision {
    let action = verdict.action;
    let notify_on = policy.policy.notify.clone();
    Decision {
        flow: event.flow_name.clone(),
        execution_id: event.execution_id.clone(),
        failed_run_started_at: failed_at,
        policy: policy.source.clone(),
        error_class: verdict.error_class,
        attempt: verdict.attempt,
        max_retries,
        action,
        delay_seconds: verdict.delay_seconds,
        reason: verdict.reason,
        notify: notify_on.contains(&action),
        notify_on,
    }
}

#[cfg(test)]
mod redecide_tests {
    //! The restart's re-decision gives on-failure's decision back for real failures.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::backoff::SplitMix64;
    use crate::model::{Policy, PolicyFile};
    use chrono::TimeDelta;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + TimeDelta::minutes(minutes)
    }

    fn policy(yaml: &str) -> FlowPolicy {
        let file: PolicyFile = serde_yaml::from_str(yaml).unwrap();
        FlowPolicy::Usable(ResolvedPolicy::new("default".into(), Policy::default().merged(&file)).unwrap())
    }

    fn run(id: &str, status: RunStatus, at: DateTime<Utc>, message: Option<&str>) -> RunRecord {
        RunRecord {
            execution_id: id.into(),
            status,
            started_at: Some(at),
            last_updated_at: Some(at + TimeDelta::minutes(1)),
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn real_decisions_come_out_again_and_facts_decide() {
        let messages = ["Read timed out", "Rate exceeded", "INVALID_SESSION_ID: expired", "boom"];
        let policies = [
            policy("{}"),
            policy("max_retries: 2\nretry_window: 1h\n"),
            policy("backoff: {strategy: fixed, initial_delay: 50m, jitter: full}\n"),
        ];
        let mut compared = 0;
        for (p, policy) in policies.iter().enumerate() {
            for message in messages {
                for streak in 0..4 {
                    let id = format!("failed-{p}-{streak}");
                    let failed = run(&id, RunStatus::Error, t(0), Some(message));
                    let mut records = vec![failed.clone(), run("ok", RunStatus::Successful, t(-600), None)];
                    for i in 0..streak {
                        records.push(run(&format!("e{i}"), RunStatus::Error, t(-10 * (i + 1)), Some(message)));
                    }
                    let event = FailureEvent {
                        flow_name: "f".into(),
                        execution_id: id.clone(),
                        trigger_type: Some("ONDEMAND".into()),
                        status: Some("Execution Failed".into()),
                        error: Some(message.into()),
                        start_time: Some(t(0)),
                        time: Some(t(1)),
                    };
                    // A run still in progress when on-failure decides at t(2)...
                    let mut late = run("late", RunStatus::InProgress, t(-5), None);
                    records.push(late.clone());
                    let now = t(2);
                    let first = decide(&event, &records, policy, now, &mut SplitMix64::for_execution(&id)).unwrap();
                    // ...that failed after it, and a run started after it, change nothing.
                    records.pop();
                    late.status = RunStatus::Error;
                    late.last_updated_at = Some(t(20));
                    records.push(late);
                    records.push(run("later", RunStatus::Successful, t(30), None));
                    let again = redecide("f", &failed, &records, policy, now).unwrap();
                    assert_eq!(again.decision, first, "{p} {message} {streak}");
                    assert_eq!(again.window_end.is_some(), first.action == Action::Retry);
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 48);
    }
}
