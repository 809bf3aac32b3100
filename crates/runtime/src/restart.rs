//! The restart handler, invoked by the state machine after the Wait: checks
//! that the input is a real decision of on-failure, re-decides from the facts
//! it reads (the policy, the failed run's record, the history) and checks
//! that the restart still makes sense, then calls StartFlow (docs/design.md
//! §5.6, §6.6–6.9).

use appflow_retry_policy::appflow::parse_time;
use appflow_retry_policy::naming::{client_token, execution_name};
use std::sync::Arc;

use appflow_retry_policy::{
    Action, DeactivatedKind, Decision, FlowPolicy, RestartOutcome, RunRecord, RunStatus, TriggerType,
    deactivation_evidence, deactivation_id_at, format_time, newer_runs, newest_newer_run, redecide,
    redecide_reactivation,
};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::history::{Cover, HistoryError, read_history};
use crate::policy_cache::PolicyCache;
use crate::ports::{AppFlow, Clock, DEACTIVATED_STATUSES, ParameterStore, PortError};

/// What the state machine's Restart task sends (docs/design.md §5.5).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RestartInput {
    /// The AppFlow flow's name; must equal `decision.flow`.
    pub flow_name: String,
    /// The failed run's execution id (or the deactivation id); must equal `decision.execution_id`.
    pub execution_id: String,
    /// The decision on-failure made, as the execution's input holds it.
    pub decision: Decision,
    /// The state machine execution's name (`$$.Execution.Name`).
    #[serde(default)]
    pub execution_name: Option<String>,
    /// When the execution started (`$$.Execution.StartTime`, which the caller of
    /// StartExecution cannot set): the time the restart re-decides at; missing or not a
    /// time is `RestartRefused` (docs/design.md §6.8).
    #[serde(default)]
    pub execution_started_at: Option<String>,
}

impl RestartInput {
    /// The payload the state machine's Restart task sends for the execution
    /// on-failure started with `decision` at `started_at` (as
    /// statemachines/retry.asl.json builds it from `$` and `$$.Execution`):
    /// for the demo and the tests, which play the state machine's part.
    pub fn for_execution(decision: &Decision, started_at: DateTime<Utc>) -> Self {
        RestartInput {
            flow_name: decision.flow.clone(),
            execution_id: decision.execution_id.clone(),
            decision: decision.clone(),
            execution_name: Some(execution_name(&decision.flow, &decision.execution_id)),
            execution_started_at: Some(format_time(started_at)),
        }
    }

    /// As JSON, the form the Lambda receives.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What the restart did; the state machine branches on `notify`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartOutput {
    /// `restarted` or `skipped` (`reactivated` or `skipped` for a re-activation).
    pub outcome: RestartOutcome,
    /// The id of the run StartFlow started, or of a newer run taken as this restart's own
    /// (docs/design.md §6.7); None when nothing was started or AWS returned none.
    pub new_execution_id: Option<String>,
    /// Why, in one sentence for the notification (for a re-activation it also names the flow's status).
    pub reason: String,
    /// Whether a person is told: the flow's current policy's `notify` (never
    /// the input's `decision.notify_on`) asks for this outcome
    /// (`retry` for a restart, `skip` for a skip), or the skip is one that is
    /// always told (a broken policy).
    pub notify: bool,
    /// For a re-activation: the flow's status DescribeFlow reports after it
    /// (after StartFlow when `reactivated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_status: Option<String>,
}

/// Errors with stable names that the state machine's Retry and Catch match.
#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    /// `InvalidInput`: the input is not a restart input, naming the field; never retried.
    #[error("invalid restart input: {0}")]
    InvalidInput(String),
    /// The input is not a decision on-failure made: nothing is started.
    #[error("restart refused: {0}")]
    RestartRefused(String),
    /// `AppFlowThrottled`: throttling or the service quota (HTTP 402); retried by the state machine.
    #[error("AppFlow throttled the restart: {0}")]
    AppFlowThrottled(PortError),
    /// `AppFlowUnavailable`: a 5xx, a time-out or a `ConflictException`; retried by the state machine.
    #[error("AppFlow is unavailable: {0}")]
    AppFlowUnavailable(PortError),
    /// `AppFlowFailed`: any other 4xx; not retried, notified.
    #[error("AppFlow refused the restart: {0}")]
    AppFlowFailed(PortError),
    /// `PolicyUnavailable`: SSM could not be read after the SDK's retries; retried by the state machine.
    #[error("SSM policy parameters cannot be read: {0}")]
    PolicyUnavailable(PortError),
    /// `HistoryIncomplete`: the history's page bound was reached before the failed run was seen;
    /// retried by the state machine.
    #[error("the flow's run history is longer than the reader's bound: {0}")]
    HistoryIncomplete(HistoryError),
    /// `DeadlineExceeded`: the restart from the restart queue was still running
    /// when the invocation's time ran out; retried by the state machine (its re-check
    /// finds a run StartFlow may have begun).
    #[error("the restart did not finish before the invocation's deadline (a retry re-checks for a run it began)")]
    DeadlineExceeded,
}

impl RestartError {
    /// The error's stable name: the Lambda `errorType` the state machine's Retry and Catch match.
    pub fn error_type(&self) -> &'static str {
        match self {
            RestartError::InvalidInput(_) => "InvalidInput",
            RestartError::RestartRefused(_) => "RestartRefused",
            RestartError::AppFlowThrottled(_) => "AppFlowThrottled",
            RestartError::AppFlowUnavailable(_) => "AppFlowUnavailable",
            RestartError::AppFlowFailed(_) => "AppFlowFailed",
            RestartError::PolicyUnavailable(_) => "PolicyUnavailable",
            RestartError::HistoryIncomplete(_) => "HistoryIncomplete",
            RestartError::DeadlineExceeded => "DeadlineExceeded",
        }
    }
}

impl From<PortError> for RestartError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::Throttled(_) => RestartError::AppFlowThrottled(e),
            PortError::Unavailable(_) => RestartError::AppFlowUnavailable(e),
            PortError::Failed(_) | PortError::NotFound(_) => RestartError::AppFlowFailed(e),
        }
    }
}

/// The restart Lambda's handler with its ports (docs/design.md §5.6): verifies the input,
/// re-checks policy, flow and history, then calls StartFlow with the run's client token. Built
/// once per Lambda process.
#[derive(Debug)]
pub struct Restart<S, A, C> {
    /// The policies, read from SSM through the cache.
    pub policies: PolicyCache<S>,
    /// AppFlow: DescribeFlow, the run history and StartFlow.
    pub appflow: A,
    /// The time the re-checks are made at.
    pub clock: C,
    /// The most pages of run records read for the re-checks (docs/design.md §5.3: 20).
    pub max_history_pages: usize,
}

impl<S: ParameterStore, A: AppFlow, C: Clock> Restart<S, A, C> {
    /// Handles one Restart task input: a restart or re-activation done, or skipped with its
    /// reason; an error the state machine retries or catches by its name.
    pub async fn handle(&self, input: &serde_json::Value) -> Result<RestartOutput, RestartError> {
        let input: RestartInput = serde_path_to_error::deserialize(input)
            .map_err(|e| RestartError::InvalidInput(format!("field `{}`: {}", e.path(), e.inner())))?;
        let d = &input.decision;
        let flow = input.flow_name.as_str();
        if d.action == Action::Reactivate {
            return self.reactivate(&input).await;
        }
        if d.action != Action::Retry {
            return Err(RestartError::InvalidInput(format!(
                "decision.action is {}, not retry",
                d.action
            )));
        }
        check_origin(&input)?;
        let started_at = execution_started_at(&input)?;

        let policy = self.policy_now(flow).await?;
        // Who is told follows the policy as it is now, never the input's notify_on.
        let notify_on = current_notify(&policy);
        let skip = |reason: String, always: bool| {
            tracing::info!(flow, execution_id = %input.execution_id, outcome = %RestartOutcome::Skipped, %reason, "restart");
            RestartOutput {
                outcome: RestartOutcome::Skipped,
                new_execution_id: None,
                notify: always || notify_on.contains(&Action::Skip),
                reason,
                flow_status: None,
            }
        };
        let lookback = match policy.as_ref() {
            FlowPolicy::Broken(b) => {
                return Ok(skip(
                    format!("the flow's policy became unusable after the decision: {}", b.summary()),
                    true,
                ));
            }
            FlowPolicy::Usable(p) if !p.policy.enabled => {
                return Ok(skip(
                    "retries were disabled for this flow after the decision".into(),
                    false,
                ));
            }
            FlowPolicy::Usable(p) => p.policy.longest_window().as_chrono(),
        };
        let Some(info) = self.appflow.describe_flow(flow).await? else {
            return Ok(skip(GONE.into(), false));
        };
        if info.status != "Active" {
            return Ok(skip(format!("the flow is {}, not Active", info.status), false));
        }
        if info.trigger() != TriggerType::OnDemand {
            return Ok(skip(
                format!(
                    "the flow's trigger is {}: AppFlow cannot re-run it on demand",
                    info.trigger_type
                ),
                false,
            ));
        }

        let Some(records) = self
            .records_since(flow, &input.execution_id, d.failed_run_started_at, lookback, true)
            .await?
        else {
            return Ok(skip(GONE.into(), false));
        };
        // Only a real failure is restarted: its record, an Error, at the decision's time.
        let failed = records.iter().find(|r| r.execution_id == input.execution_id);
        let failed = match failed {
            Some(r) if r.status == RunStatus::Error && r.time().is_none_or(|t| t == d.failed_run_started_at) => r,
            other => {
                let found = other.map_or_else(
                    || "no such run".to_owned(),
                    |r| {
                        format!(
                            "{} at {}",
                            r.status.as_str(),
                            r.time().map_or_else(String::new, format_time)
                        )
                    },
                );
                return Err(RestartError::RestartRefused(format!(
                    "flow {flow} has no failed run {} started {} in its history ({found}): this input was not made by on-failure",
                    input.execution_id,
                    format_time(d.failed_run_started_at)
                )));
            }
        };
        // on-failure decides only on a final record, and starts the execution after: an
        // execution that started before the record ended was started by someone else.
        let Some(ended) = failed.last_updated_at.or(failed.time()) else {
            return Err(RestartError::RestartRefused(format!(
                "the failed run {}'s record has no time: when it ended cannot be told",
                input.execution_id
            )));
        };
        if started_at < ended {
            return Err(RestartError::RestartRefused(format!(
                "the execution started {}, before the failed run {} ended ({}): on-failure decides only on a final record, so this input was not made by on-failure",
                format_time(started_at),
                input.execution_id,
                format_time(ended)
            )));
        }
        if let Some(why) = self.redecide_disagrees(&input, failed, &records, &policy, started_at) {
            return Ok(skip(why, true));
        }

        let reason = format!(
            "restart {} of {} after {}s",
            d.attempt.unwrap_or(1),
            d.max_retries,
            d.delay_seconds.unwrap_or(0)
        );
        let restarted = |new_id: Option<String>, reason: String| {
            tracing::info!(flow, execution_id = %input.execution_id, outcome = %RestartOutcome::Restarted, new_execution_id = ?new_id, %reason, "restart");
            RestartOutput {
                outcome: RestartOutcome::Restarted,
                new_execution_id: new_id,
                reason,
                notify: notify_on.contains(&Action::Retry),
                flow_status: None,
            }
        };
        let mut newer: Vec<_> = newer_runs(&records, &input.execution_id, d.failed_run_started_at).collect();
        newer.sort_by_key(|(t, _)| *t);
        // A run that started once the backoff was over is this restart's own,
        // started by an earlier attempt whose answer was lost.
        if let Some(backoff_end) = backoff_end(started_at, d)
            && let Some((_, own)) = newer.iter().find(|(t, _)| *t >= backoff_end)
        {
            return Ok(restarted(
                Some(own.execution_id.clone()),
                format!(
                    "{reason}: run {} was started by an earlier attempt of this restart",
                    own.execution_id
                ),
            ));
        }
        if let Some((_, r)) = newer.last() {
            return Ok(skip(
                format!(
                    "a newer run {} ({}) exists since the decision",
                    r.execution_id,
                    r.status.as_str()
                ),
                false,
            ));
        }

        match self.start_flow(flow, &input.execution_id).await? {
            Some(new_id) => Ok(restarted(new_id, reason)),
            None => Ok(skip(GONE.into(), false)),
        }
    }
}

impl<S: ParameterStore, A: AppFlow, C: Clock> Restart<S, A, C> {
    /// A `reactivate` decision after its wait (docs/design.md §5.6): the
    /// input names this deactivation's one execution; the policy still
    /// allows re-activation; the flow still exists, is scheduled or event,
    /// is still deactivated (`Suspended`), and has not run since. Then
    /// StartFlow with the deactivation's client token, and DescribeFlow's
    /// new status is reported. Every outcome but `reactivated` is notified:
    /// the flow stays off.
    async fn reactivate(&self, input: &RestartInput) -> Result<RestartOutput, RestartError> {
        let d = &input.decision;
        let flow = input.flow_name.as_str();
        check_origin(input)?;
        let started_at = execution_started_at(input)?;
        let skip = |reason: String, status: Option<String>| {
            tracing::info!(flow, deactivation = %input.execution_id, outcome = %RestartOutcome::Skipped, %reason, "reactivate");
            RestartOutput {
                outcome: RestartOutcome::Skipped,
                new_execution_id: None,
                notify: true,
                reason: format!("the flow stays as it is: {reason}"),
                flow_status: status,
            }
        };

        // The id must be the one on-failure derives from the deactivation's time, the
        // decision's `failed_run_started_at`. The other form (a hash of an event id, for an
        // event without a time) cannot be re-derived: never re-activated.
        let expected = deactivation_id_at(d.failed_run_started_at);
        if input.execution_id != expected {
            return Ok(skip(
                format!(
                    "execution id {:?} is not the deactivation id of {} ({expected:?}): no re-activation without a deactivation the restart can verify",
                    input.execution_id,
                    format_time(d.failed_run_started_at)
                ),
                None,
            ));
        }
        if started_at < d.failed_run_started_at {
            return Err(RestartError::RestartRefused(format!(
                "the execution started {}, before the deactivation it names ({}): this input was not made by on-failure",
                format_time(started_at),
                format_time(d.failed_run_started_at)
            )));
        }

        let policy = self.policy_now(flow).await?;
        let lookback = match policy.as_ref() {
            FlowPolicy::Broken(b) => {
                return Ok(skip(
                    format!("its policy became unusable after the decision: {}", b.summary()),
                    None,
                ));
            }
            FlowPolicy::Usable(p) if !p.policy.enabled || !p.policy.reactivate.enabled => {
                return Ok(skip(
                    "re-activation was disabled for it after the decision".into(),
                    None,
                ));
            }
            FlowPolicy::Usable(p) => p.policy.longest_window().as_chrono(),
        };
        let Some(info) = self.appflow.describe_flow(flow).await? else {
            return Ok(skip(GONE.into(), None));
        };
        let status = Some(info.status.clone());
        if !info.trigger().is_scheduled_or_event() {
            return Ok(skip(
                format!("its trigger is now {}, not scheduled or event", info.trigger_type),
                status,
            ));
        }
        if !DEACTIVATED_STATUSES.contains(&info.status.as_str()) {
            return Ok(skip(
                format!(
                    "it is {}, no longer deactivated ({}): re-activated by a person or by an earlier attempt of this step",
                    info.status,
                    DEACTIVATED_STATUSES.join(" or ")
                ),
                status,
            ));
        }
        // Which status an automatic deactivation leaves is undocumented: say which was seen.
        tracing::info!(flow, deactivation = %input.execution_id, flow_status = %info.status, "deactivated flow's status");
        // A run since the deactivation means someone re-activated and it ran
        // (and was deactivated again: that deactivation has its own execution).
        let Some(records) = self
            .records_since(flow, "", d.failed_run_started_at, lookback, false)
            .await?
        else {
            return Ok(skip(GONE.into(), status));
        };
        if let Some((t, r)) = newest_newer_run(&records, "", d.failed_run_started_at) {
            return Ok(skip(
                format!(
                    "run {} ({}, started {}) came after this deactivation",
                    r.execution_id,
                    r.status.as_str(),
                    format_time(t)
                ),
                status,
            ));
        }

        // R1–R10 again, on the facts: the flow failed before the deactivation, and the rules
        // still re-activate it with the input's attempt.
        let kind = match info.trigger() {
            TriggerType::Event => DeactivatedKind::Event,
            _ => DeactivatedKind::Scheduled,
        };
        let re = redecide_reactivation(
            flow,
            kind,
            d.failed_run_started_at,
            &records,
            info.deactivation_threshold.unwrap_or(1),
            &policy,
            started_at,
        );
        let claimed = format!("on-failure's input says {}", summary(d));
        tracing::info!(flow, deactivation = %input.execution_id, claimed = %summary(d), redecided = %summary(&re.decision), failures = re.failures, "reactivation re-decided");
        if re.failures == 0 {
            return Ok(skip(
                format!(
                    "{claimed}; but no failed run precedes the deactivation at {} in the flow's history: AppFlow deactivates a flow only after failed runs, so a person stopped it",
                    format_time(d.failed_run_started_at)
                ),
                status,
            ));
        }
        // AppFlow deactivated it: the failing run just before, and a streak that reaches the
        // threshold (a person's stop after fewer failures, or a deactivation time picked long
        // after the last failure, is not re-activated).
        if let Err(why) = deactivation_evidence(
            &records,
            d.failed_run_started_at,
            info.deactivation_threshold.unwrap_or(1),
        ) {
            return Ok(skip(format!("{claimed}; but {why}"), status));
        }
        if re.decision.action != Action::Reactivate || re.decision.attempt != d.attempt {
            return Ok(skip(
                format!(
                    "{claimed}; re-decided for the execution's start {}: {} ({})",
                    format_time(started_at),
                    summary(&re.decision),
                    re.decision.reason
                ),
                status,
            ));
        }
        // As for a retry: the delay is the policy's for this attempt and seed, or forged
        // (or the backoff was edited during the wait).
        if re.decision.delay_seconds != d.delay_seconds {
            return Ok(skip(
                format!(
                    "{claimed}; re-decided for the execution's start {}: {}; the input's wait of {} is not the policy's",
                    format_time(started_at),
                    summary(&re.decision),
                    seconds(d.delay_seconds)
                ),
                status,
            ));
        }
        if backoff_end(started_at, d).is_none_or(|end| end > re.window_end) {
            return Ok(skip(
                format!(
                    "{claimed}; but its wait would end past the streak's retry_window ({})",
                    format_time(re.window_end)
                ),
                status,
            ));
        }

        if self.start_flow(flow, &input.execution_id).await?.is_none() {
            return Ok(skip(GONE.into(), None));
        }
        let after = self.appflow.describe_flow(flow).await?.map(|i| i.status);
        let reason = format!(
            "re-activation {} of {} after {}s: StartFlow accepted, DescribeFlow now reports {}",
            d.attempt.unwrap_or(1),
            d.max_retries,
            d.delay_seconds.unwrap_or(0),
            after.as_deref().unwrap_or("no flow")
        );
        tracing::info!(flow, deactivation = %input.execution_id, outcome = %RestartOutcome::Reactivated, flow_status = ?after, %reason, "reactivate");
        Ok(RestartOutput {
            outcome: RestartOutcome::Reactivated,
            new_execution_id: None,
            reason,
            notify: current_notify(&policy).contains(&Action::Reactivate),
            flow_status: after,
        })
    }
}

/// The outcomes the flow's policy, as it is now, asks to be told: a broken
/// policy's skips are told anyway.
fn current_notify(policy: &FlowPolicy) -> Vec<Action> {
    match policy {
        FlowPolicy::Usable(p) => p.policy.notify.clone(),
        FlowPolicy::Broken(_) => Vec::new(),
    }
}

/// Why a restart or a re-activation is skipped when AppFlow no longer knows the flow.
const GONE: &str = "the flow no longer exists";

/// The re-checks the restart and the re-activation share.
impl<S: ParameterStore, A: AppFlow, C: Clock> Restart<S, A, C> {
    /// The flow's policy as it is now (it may have changed during the wait).
    async fn policy_now(&self, flow: &str) -> Result<Arc<FlowPolicy>, RestartError> {
        let loaded = self
            .policies
            .load_reported(flow, self.clock.now())
            .await
            .map_err(RestartError::PolicyUnavailable)?;
        Ok(loaded.policy)
    }

    /// The flow's run records back to the run `execution_id` (none: `""`)
    /// or `since`, and `lookback` before it (the re-decision's failure
    /// streak; only that streak when `until_streak_end`, see [`Cover`]);
    /// None when the flow no longer exists.
    async fn records_since(
        &self,
        flow: &str,
        execution_id: &str,
        since: DateTime<Utc>,
        lookback: TimeDelta,
        until_streak_end: bool,
    ) -> Result<Option<Vec<RunRecord>>, RestartError> {
        let cover = Cover {
            execution_id,
            fallback_time: since,
            lookback,
            until_streak_end,
        };
        match read_history(&self.appflow, flow, cover, self.max_history_pages).await {
            Ok(records) => Ok(Some(one_copy_per_run(records))),
            Err(HistoryError::FlowNotFound(_)) => Ok(None),
            Err(HistoryError::Unavailable(e)) => Err(e.into()),
            Err(e @ HistoryError::Incomplete { .. }) => Err(RestartError::HistoryIncomplete(e)),
        }
    }

    /// StartFlow with the client token of `execution_id` (a failed run or a
    /// deactivation): the new run's id, if AWS returns one; None when the
    /// flow no longer exists.
    async fn start_flow(&self, flow: &str, execution_id: &str) -> Result<Option<Option<String>>, RestartError> {
        match self.appflow.start_flow(flow, &client_token(execution_id)).await {
            Ok(new_id) => Ok(Some(new_id)),
            Err(PortError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// One record per execution id: a page boundary that shifts while the history
/// is read can list a run twice, a stale copy (still `InProgress`) before the
/// final one. The final copy is kept (the one updated last among equals), so
/// that a real failure is never refused as forged for a stale copy.
fn one_copy_per_run(records: Vec<RunRecord>) -> Vec<RunRecord> {
    let rank = |r: &RunRecord| {
        let is_final = !matches!(r.status, RunStatus::InProgress | RunStatus::CancelStarted);
        (is_final, r.last_updated_at)
    };
    let mut kept: Vec<RunRecord> = Vec::with_capacity(records.len());
    for r in records {
        match kept.iter_mut().find(|k| k.execution_id == r.execution_id) {
            Some(k) if rank(&r) > rank(k) => *k = r,
            Some(_) => {}
            None => kept.push(r),
        }
    }
    kept
}

/// The input must come from the execution on-failure started for this
/// failure: its name is the one derived from (flow, execution id).
fn check_origin(input: &RestartInput) -> Result<(), RestartError> {
    let expected = execution_name(&input.flow_name, &input.execution_id);
    if input.decision.flow != input.flow_name || input.decision.execution_id != input.execution_id {
        return Err(RestartError::RestartRefused(
            "flow_name and execution_id differ from the decision's".into(),
        ));
    }
    match input.execution_name.as_deref() {
        Some(name) if name == expected => Ok(()),
        Some(name) => Err(RestartError::RestartRefused(format!(
            "execution {name:?} is not the one on-failure starts for this failure ({expected:?})"
        ))),
        None => Err(RestartError::RestartRefused(
            "no execution_name: the input did not come from the retry state machine".into(),
        )),
    }
}

/// When the backoff ended: the execution's start plus the decision's delay;
/// None when that is past any time chrono can hold.
fn backoff_end(started_at: DateTime<Utc>, d: &Decision) -> Option<DateTime<Utc>> {
    let delay = i64::try_from(d.delay_seconds.unwrap_or(0)).ok()?;
    started_at.checked_add_signed(TimeDelta::try_seconds(delay)?)
}

/// `execution_started_at`, `$$.Execution.StartTime`: the one time in the
/// input that the caller of StartExecution cannot set. Missing or
/// unparsable: refused (docs/design.md §6.8).
fn execution_started_at(input: &RestartInput) -> Result<DateTime<Utc>, RestartError> {
    let Some(text) = input.execution_started_at.as_deref() else {
        return Err(RestartError::RestartRefused(
            "no execution_started_at: the input did not come from the retry state machine".into(),
        ));
    };
    parse_time(text).map_err(|e| {
        RestartError::RestartRefused(format!(
            "execution_started_at {:?} is not a time ({e}): the input did not come from the retry state machine",
            appflow_retry_policy::truncate_message(text)
        ))
    })
}

/// A delay for a reason: `120s`, or `none`.
fn seconds(delay: Option<u64>) -> String {
    delay.map_or_else(|| "none".to_owned(), |s| format!("{s}s"))
}

/// A decision in a few words for a reason: `retry 2/3 after 120s`, `skip`, `give_up 4/3`.
fn summary(d: &Decision) -> String {
    let mut s = d.action.to_string();
    if let Some(n) = d.attempt {
        s.push_str(&format!(" {n}/{}", d.max_retries));
    }
    if let Some(delay) = d.delay_seconds {
        s.push_str(&format!(" after {delay}s"));
    }
    s
}

impl<S: ParameterStore, A: AppFlow, C: Clock> Restart<S, A, C> {
    /// Re-decides the failed run from the facts (docs/design.md §6.8): the
    /// current policy, the run's own record and the history, at the
    /// execution's start time, with on-failure's seed. None when the
    /// re-decision is `retry` with the input's attempt and the input's wait
    /// ends inside the streak's `retry_window`; else why not, naming both
    /// answers (the restart is then skipped, always notified).
    fn redecide_disagrees(
        &self,
        input: &RestartInput,
        failed: &RunRecord,
        records: &[RunRecord],
        policy: &FlowPolicy,
        at: DateTime<Utc>,
    ) -> Option<String> {
        let d = &input.decision;
        let claimed = format!("on-failure's input says {}", summary(d));
        if failed.message.as_deref().is_none_or(str::is_empty) {
            return Some(format!(
                "{claimed}; not re-decided: the failed run's record has no executionMessage, so its error class cannot be read from AppFlow's facts"
            ));
        }
        let re = match redecide(&input.flow_name, failed, records, policy, at) {
            Ok(re) => re,
            Err(undecided) => return Some(format!("{claimed}; not re-decided: {undecided}")),
        };
        let now = &re.decision;
        let verdict = format!(
            "{claimed}; re-decided for the execution's start {}: {} ({})",
            format_time(at),
            summary(now),
            now.reason
        );
        tracing::info!(flow = %input.flow_name, execution_id = %input.execution_id, claimed = %summary(d), redecided = %summary(now), "restart re-decided");
        if now.action != Action::Retry || now.attempt != d.attempt {
            return Some(verdict);
        }
        // The delay depends only on the attempt, the policy and the seed from the execution
        // id: a real decision's matches. Another one was forged (or the backoff was edited
        // during the wait): skipped and told.
        if now.delay_seconds != d.delay_seconds {
            return Some(format!(
                "{verdict}; but the input's wait of {} is not the policy's {}",
                seconds(d.delay_seconds),
                seconds(now.delay_seconds),
            ));
        }
        let wait_end = backoff_end(at, d);
        match (wait_end, re.window_end) {
            (Some(end), Some(window_end)) if end <= window_end => None,
            (_, window_end) => Some(format!(
                "{verdict}; but the input's wait of {}s would end past the streak's retry_window ({})",
                d.delay_seconds.unwrap_or(0),
                window_end.map_or_else(|| "unknown".to_owned(), format_time)
            )),
        }
    }
}
