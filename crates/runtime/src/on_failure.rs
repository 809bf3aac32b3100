//! The on-failure handler: one failed flow run in, one state machine
//! execution out (docs/design.md §1).

use appflow_retry_policy::Action;
use appflow_retry_policy::conflict::{self, Comparison};
use appflow_retry_policy::naming::execution_name;
use appflow_retry_policy::reactivate::{ReactivationPrecheck, deactivated_at, reactivation_precheck};
use appflow_retry_policy::recover::{Recovery, RecoveryPrecheck, Streak, action_of_input, recovery_precheck};
use appflow_retry_policy::{
    DeactivationEvent, Decision, EventError, ExecutionStart, FailureEvent, IncomingEvent, Precheck, SplitMix64,
    Undecided, failure_message, precheck, truncate_message,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::history::{Cover, HistoryError, read_history, read_history_keeping};
use crate::policy_cache::{LoadedPolicy, PolicyCache};
use crate::ports::{AppFlow, Clock, ParameterStore, PortError, StartOutcome, StateMachine};
use crate::telemetry;

/// Why an event could not be handled. Each has a stable name (the Lambda
/// error type) so that logs, alarms and retries can tell them apart; every
/// one of them leaves the event to Lambda's retries and then the on-failure
/// destination queue (docs/design.md §5.7).
#[derive(Debug, thiserror::Error)]
pub enum OnFailureError {
    /// `InvalidEvent`: the event lacks a required field or its envelope is wrong (§6.4).
    #[error(transparent)]
    InvalidEvent(#[from] EventError),
    /// `PolicyUnavailable`: SSM could not be read after the SDK's retries; never a guessed policy.
    #[error("SSM policy parameters cannot be read: {0}")]
    PolicyUnavailable(PortError),
    /// `HistoryUnavailable`: the flow's run history could not be read after the SDK's retries.
    #[error("the flow's run history cannot be read, so no decision is made: {0}")]
    HistoryUnavailable(PortError),
    /// `HistoryIncomplete`: the reader's page bound was reached before the failed run and its
    /// window were covered (§5.3).
    #[error("the flow's run history is longer than the reader's bound, so no decision is made: {0}")]
    HistoryIncomplete(HistoryError),
    /// `FailedRunNotFound` or `FailedRunNotFinal`: rule 6 cannot decide yet.
    #[error(transparent)]
    Undecided(#[from] Undecided),
    /// `StateMachineUnavailable`: StartExecution failed with a 5xx or throttling.
    #[error("the state machine execution cannot be started: {0}")]
    StateMachineUnavailable(PortError),
    /// `StateMachineRejected`: StartExecution failed with a 4xx other than `ExecutionAlreadyExists`.
    #[error("Step Functions refused the state machine execution: {0}")]
    StateMachineRejected(PortError),
    /// `DecisionConflict`: the failure's execution exists with a decision that is not one
    /// on-failure could have made for this run (docs/design.md §5.4): someone else's decision
    /// stands for it, and a person must know.
    #[error(
        "the execution {execution_name} exists with another decision than on-failure's, and it stands for this run: {differences} (ours: {ours}; theirs: {theirs})"
    )]
    DecisionConflict {
        /// The execution's name.
        execution_name: String,
        /// Our decision, in brief (action, attempt, class, reason).
        ours: String,
        /// The existing execution's decision, in brief, or why it could not be read.
        theirs: String,
        /// The fields that differ, ours and theirs.
        differences: String,
    },
}

impl OnFailureError {
    /// The error's stable name.
    pub fn error_type(&self) -> &'static str {
        match self {
            OnFailureError::InvalidEvent(_) => "InvalidEvent",
            OnFailureError::PolicyUnavailable(_) => "PolicyUnavailable",
            OnFailureError::HistoryUnavailable(_) => "HistoryUnavailable",
            OnFailureError::HistoryIncomplete(_) => "HistoryIncomplete",
            OnFailureError::Undecided(u) => u.error_type(),
            OnFailureError::StateMachineUnavailable(_) => "StateMachineUnavailable",
            OnFailureError::StateMachineRejected(_) => "StateMachineRejected",
            OnFailureError::DecisionConflict { .. } => "DecisionConflict",
        }
    }
}

/// What the handler did.
#[derive(Debug, Clone, Serialize)]
pub struct OnFailureOutput {
    /// The decision, also the state machine input's `decision`.
    pub decision: Decision,
    /// The execution name derived from (flow, execution id) (docs/design.md §5.4): at most
    /// one execution per failed run.
    pub execution_name: String,
    /// `started`, or `already_exists` when this event was handled before
    /// with another input. (For an identical duplicate of a running
    /// execution, Step Functions returns that execution: `started`, and
    /// still nothing new runs.)
    pub execution: ExecutionStart,
    /// Problems in the flow's policy parameters (non-empty: the policy is
    /// broken and the decision is a notified skip).
    pub policy_problems: Vec<String>,
}

/// What the handler did with a successful run's report (docs/design.md §4,
/// recovery rules).
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryOutput {
    /// The AppFlow flow's name, as in the event's `detail.flow-name`.
    pub flow: String,
    /// The successful run's execution id.
    pub execution_id: String,
    /// The `recovered` execution started (or found started before), when
    /// the run ended a failure streak the service restarted or gave up on.
    pub recovered: Option<OnFailureOutput>,
    /// Why nothing was told, when nothing was.
    pub reason: Option<String>,
}

/// The on-failure function's reply: a failure's (or deactivation's)
/// decision, or what became of a success report.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Reply {
    /// A failure or deactivation was decided (and its execution started).
    Decided(OnFailureOutput),
    /// A success report was examined for a recovery.
    Success(RecoveryOutput),
}

/// Who reported the failed run: its EventBridge event, or the
/// reconciliation sweep that found it in the run history without one
/// (docs/design.md §5.9). Both take the same path; a sweep's decision says
/// so in its `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The failed run's EventBridge event.
    Event,
    /// The reconciliation sweep found the failure in the run history; its reason begins with
    /// [`SWEEP_REASON_PREFIX`].
    Sweep,
}

/// What a decision made by the sweep says before its reason.
pub const SWEEP_REASON_PREFIX: &str = "found by the reconciliation sweep, no event arrived: ";

/// The handler with its ports. Built once per Lambda process.
#[derive(Debug)]
pub struct OnFailure<S, A, M, C> {
    /// The policies, read from SSM through the cache.
    pub policies: PolicyCache<S>,
    /// AppFlow: the run history (and DescribeFlow for deactivations).
    pub appflow: A,
    /// The retry state machine the decisions are started on.
    pub state_machine: M,
    /// The time decisions are made at.
    pub clock: C,
    /// The most pages of run records read for one decision (docs/design.md §5.3: 20).
    pub max_history_pages: usize,
}

/// Reads an event once (docs/design.md §6.4) and logs each degraded
/// optional field with the event's flow and id.
pub fn parse_event(event: &Value) -> Result<IncomingEvent, EventError> {
    let (event, notes) = IncomingEvent::parse(event)?;
    for note in &notes {
        tracing::warn!(flow = %event.flow_name(), kind = %event.kind(), execution_id = %event.id(), field = %note.field, note = %note.note, "odd event field degraded");
    }
    Ok(event)
}

/// The state machine's input (docs/design.md §5.4): `decision` is what
/// `appflow-retry explain` prints; `error_message` is AppFlow's message for
/// the failed run, cut to at most 4 KiB, for the notifications.
pub fn state_machine_input(decision: &Decision, error_message: &str) -> Value {
    json!({
        "flow_name": decision.flow,
        "execution_id": decision.execution_id,
        "error_message": truncate_message(error_message),
        "decision": decision,
    })
}

impl<S: ParameterStore, A: AppFlow, M: StateMachine, C: Clock> OnFailure<S, A, M, C> {
    /// Handles any event the rule routes, given as JSON (the whole
    /// envelope), read once into an [`IncomingEvent`]: a failed run, a
    /// successful run (only flows whose policy asks for `recovered` are
    /// routed) or a deactivated flow.
    pub async fn handle_any(&self, event: &Value) -> Result<Reply, OnFailureError> {
        self.handle_incoming(parse_event(event)?).await
    }

    /// Handles a parsed event of any kind.
    pub async fn handle_incoming(&self, event: IncomingEvent) -> Result<Reply, OnFailureError> {
        match event {
            IncomingEvent::SuccessfulRun(e) => self.handle_success(e).await.map(Reply::Success),
            IncomingEvent::FailedRun(e) => self.handle_event(e).await.map(Reply::Decided),
            IncomingEvent::Deactivation(d) => self.handle_deactivation(d).await.map(Reply::Decided),
        }
    }

    /// Handles an EventBridge event given as JSON (the whole envelope) that
    /// must be decided: a failed run, or a deactivated flow. A successful
    /// run's report is an `InvalidEvent` here (`detail.status`); it is
    /// [`handle_any`](Self::handle_any)'s.
    pub async fn handle(&self, event: &Value) -> Result<OnFailureOutput, OnFailureError> {
        match parse_event(event)? {
            IncomingEvent::FailedRun(e) => self.handle_event(e).await,
            IncomingEvent::Deactivation(d) => self.handle_deactivation(d).await,
            IncomingEvent::SuccessfulRun(_) => Err(EventError::not_a_failed_run().into()),
        }
    }

    /// Handles a parsed event.
    pub async fn handle_event(&self, event: FailureEvent) -> Result<OnFailureOutput, OnFailureError> {
        self.handle_failure(event, Origin::Event).await
    }

    /// The flow's effective policy now, its load reported; SSM unreadable is
    /// `PolicyUnavailable` (never a guess).
    async fn policy(&self, flow: &str, now: DateTime<Utc>) -> Result<LoadedPolicy, OnFailureError> {
        self.policies
            .load_reported(flow, now)
            .await
            .map_err(OnFailureError::PolicyUnavailable)
    }

    /// Decides one failed run and starts its state machine execution: the
    /// one path for events and for the sweep's finds.
    pub async fn handle_failure(&self, event: FailureEvent, origin: Origin) -> Result<OnFailureOutput, OnFailureError> {
        self.decide_failure(event, None, origin).await
    }

    /// Handles a parsed deactivation event (docs/design.md §4, re-activation
    /// rules): the decision's `execution_id` is the deactivation's id, so a
    /// duplicate event maps to the same execution.
    pub async fn handle_deactivation(&self, event: DeactivationEvent) -> Result<OnFailureOutput, OnFailureError> {
        let now = self.clock.now();
        tracing::info!(flow = %event.flow_name, detail_type = event.kind.detail_type(), reason_field = ?event.reason_field, "deactivation event");
        let loaded = self.policy(&event.flow_name, now).await?;
        let id = event.deactivation_id();
        let decision = match reactivation_precheck(&event, &loaded.policy, now) {
            ReactivationPrecheck::Decided(d) => d,
            ReactivationPrecheck::NeedsHistory(pending) => {
                let info = self
                    .appflow
                    .describe_flow(&event.flow_name)
                    .await
                    .map_err(OnFailureError::HistoryUnavailable)?;
                match info {
                    None => pending.flow_gone(),
                    Some(info) => {
                        let cover = Cover {
                            execution_id: "",
                            fallback_time: deactivated_at(&event, now),
                            lookback: pending.window().as_chrono(),
                            // R8 counts the deactivations in the whole window.
                            until_streak_end: false,
                        };
                        match read_history(&self.appflow, &event.flow_name, cover, self.max_history_pages).await {
                            // Unknown threshold: 1, which counts the most deactivations (gives up soonest).
                            Ok(records) => pending.decide(
                                &records,
                                info.deactivation_threshold.unwrap_or(1),
                                &mut SplitMix64::for_execution(&id),
                            ),
                            Err(HistoryError::FlowNotFound(_)) => pending.flow_gone(),
                            Err(HistoryError::Unavailable(e)) => return Err(OnFailureError::HistoryUnavailable(e)),
                            Err(e @ HistoryError::Incomplete { .. }) => {
                                return Err(OnFailureError::HistoryIncomplete(e));
                            }
                        }
                    }
                }
            }
        };
        let reason = event.reason.clone().unwrap_or_default();
        self.start(decision, &reason, now, &loaded).await
    }

    /// Handles a successful run's report (docs/design.md §4, recovery
    /// rules): the policy first (a flow whose policy does not ask for
    /// `recovered` costs no history read), then the history, then the
    /// service's decisions for the streak's failures; one `recovered`
    /// execution named after (flow, the successful run), so a duplicate
    /// event tells nothing new.
    pub async fn handle_success(&self, event: FailureEvent) -> Result<RecoveryOutput, OnFailureError> {
        let now = self.clock.now();
        let loaded = self.policy(&event.flow_name, now).await?;
        let nothing = |why: String| {
            tracing::info!(flow = %event.flow_name, execution_id = %event.execution_id, reason = %why, "successful run: nothing to tell");
            Ok(RecoveryOutput {
                flow: event.flow_name.clone(),
                execution_id: event.execution_id.clone(),
                recovered: None,
                reason: Some(why),
            })
        };
        let pending = match recovery_precheck(&event, &loaded.policy) {
            RecoveryPrecheck::Nothing(why) => return nothing(why),
            RecoveryPrecheck::NeedsHistory(p) => p,
        };
        let cover = Cover {
            execution_id: &event.execution_id,
            fallback_time: event.start_time.or(event.time).unwrap_or(now),
            lookback: pending.lookback().as_chrono(),
            until_streak_end: false,
        };
        let records = match read_history(&self.appflow, &event.flow_name, cover, self.max_history_pages).await {
            Ok(records) => records,
            Err(HistoryError::FlowNotFound(_)) => return nothing("the flow no longer exists".into()),
            Err(HistoryError::Unavailable(e)) => return Err(OnFailureError::HistoryUnavailable(e)),
            Err(e @ HistoryError::Incomplete { .. }) => return Err(OnFailureError::HistoryIncomplete(e)),
        };
        let streak = match pending.streak(&records, now) {
            Ok(s) => s,
            Err(why) => return nothing(why.to_string()),
        };
        let actions = self.streak_actions(&event.flow_name, &streak).await?;
        match pending.decide(&streak, &actions) {
            Recovery::Nothing(why) => nothing(why),
            Recovery::Notify(decision) => {
                let out = self.start(decision, "", now, &loaded).await?;
                Ok(RecoveryOutput {
                    flow: event.flow_name.clone(),
                    execution_id: event.execution_id.clone(),
                    recovered: Some(out),
                    reason: None,
                })
            }
        }
    }

    /// What the service decided for the streak's failures, newest first,
    /// read from their executions' inputs; only the newest when it was
    /// neither restarted nor given up (nothing is told then).
    async fn streak_actions(&self, flow: &str, streak: &Streak) -> Result<Vec<Option<Action>>, OnFailureError> {
        let mut actions = Vec::with_capacity(streak.failures.len());
        for id in &streak.failures {
            let input = self
                .state_machine
                .execution_input(&execution_name(flow, id))
                .await
                .map_err(state_machine_error)?;
            let action = input.as_deref().and_then(action_of_input);
            let first = actions.is_empty();
            actions.push(action);
            if first && !matches!(action, Some(Action::Retry | Action::GiveUp)) {
                break;
            }
        }
        Ok(actions)
    }

    /// Logs the decision and starts its execution, named after
    /// (flow, decision.execution_id).
    async fn start(
        &self,
        decision: Decision,
        message: &str,
        now: chrono::DateTime<chrono::Utc>,
        loaded: &crate::policy_cache::LoadedPolicy,
    ) -> Result<OnFailureOutput, OnFailureError> {
        let message = truncate_message(message);
        telemetry::decision(&decision, &message, loaded.policy.usable().is_none());
        telemetry::emit(&[telemetry::decision_metric(&decision, now.timestamp_millis())]);

        let name = execution_name(&decision.flow, &decision.execution_id);
        let input = state_machine_input(&decision, &message).to_string();
        let outcome = self
            .state_machine
            .start_execution(&name, &input)
            .await
            .map_err(state_machine_error)?;
        let execution = match outcome {
            StartOutcome::Started { .. } => ExecutionStart::Started,
            StartOutcome::AlreadyExists => {
                self.check_existing(&name, &decision, now).await?;
                tracing::info!(execution_name = %name, "execution exists: this failure was handled already");
                ExecutionStart::AlreadyExists
            }
        };
        let policy_problems = match loaded.policy.as_ref() {
            appflow_retry_policy::FlowPolicy::Broken(b) => b.problems.iter().map(ToString::to_string).collect(),
            appflow_retry_policy::FlowPolicy::Usable(_) => Vec::new(),
        };
        Ok(OnFailureOutput {
            decision,
            execution_name: name,
            execution,
            policy_problems,
        })
    }

    /// Decides one failed run from a run history already read, then starts
    /// its execution: [`handle_failure`](Self::handle_failure) without its
    /// history read, for the sweep, which reads a flow's history once for
    /// all its failures (docs/design.md §5.9). `records` must cover the
    /// failed run and its policy's longest window before it (§5.3); the
    /// policy, rules, message, decision and StartExecution are the same.
    pub async fn handle_failure_in(
        &self,
        event: FailureEvent,
        records: &[appflow_retry_policy::RunRecord],
        origin: Origin,
    ) -> Result<OnFailureOutput, OnFailureError> {
        self.decide_failure(event, Some(records), origin).await
    }

    /// The one path of a failed run: policy, rules 1–3, the history (`read`:
    /// None reads it, §5.3), rules 4–11, then its execution.
    async fn decide_failure(
        &self,
        event: FailureEvent,
        read: Option<&[appflow_retry_policy::RunRecord]>,
        origin: Origin,
    ) -> Result<OnFailureOutput, OnFailureError> {
        let now = self.clock.now();
        let loaded = self.policy(&event.flow_name, now).await?;
        let mut message = failure_message(&event, None).to_owned();
        let mut decision = match precheck(&event, &loaded.policy) {
            Precheck::Decided(d) => d,
            Precheck::NeedsHistory(pending) => {
                let mut fetched = None;
                let mut partial = Vec::new();
                let records = match read {
                    Some(records) => Ok(records),
                    None => {
                        let cover = Cover {
                            execution_id: &event.execution_id,
                            fallback_time: event.start_time.or(event.time).unwrap_or(now),
                            lookback: pending.policy().policy.longest_window().as_chrono(),
                            // Rules 6-11 need the newer runs and the failure streak only.
                            until_streak_end: true,
                        };
                        let (read, outcome) =
                            read_history_keeping(&self.appflow, &event.flow_name, cover, self.max_history_pages).await;
                        match outcome {
                            Ok(()) => Ok(fetched.insert(read).as_slice()),
                            Err(e) => {
                                partial = read;
                                Err(e)
                            }
                        }
                    }
                };
                match records {
                    Ok(records) => {
                        let record = records.iter().find(|r| r.execution_id == event.execution_id);
                        message = failure_message(&event, record).to_owned();
                        pending.decide(records, now, &mut SplitMix64::for_execution(&event.execution_id))?
                    }
                    Err(HistoryError::FlowNotFound(_)) => pending.flow_gone(),
                    Err(HistoryError::Unavailable(e)) => return Err(OnFailureError::HistoryUnavailable(e)),
                    Err(e @ HistoryError::Incomplete { .. }) => {
                        // The bound stopped the reader past the failed run: the pages not read
                        // are older (the order the reader saw), and can only lengthen its
                        // streak. A give-up (max_retries reached, or the window passed) on what
                        // was read stands; anything else would be a guess.
                        let record = partial.iter().find(|r| r.execution_id == event.execution_id);
                        let seeded = &mut SplitMix64::for_execution(&event.execution_id);
                        match record.is_some().then(|| pending.decide(&partial, now, seeded)) {
                            Some(Ok(mut d)) if d.action == Action::GiveUp => {
                                message = failure_message(&event, record).to_owned();
                                d.reason = truncate_message(&format!(
                                    "{} (decided on the {} records read; {e})",
                                    d.reason,
                                    partial.len()
                                ))
                                .into_owned();
                                d
                            }
                            _ => return Err(OnFailureError::HistoryIncomplete(e)),
                        }
                    }
                }
            }
        };
        if origin == Origin::Sweep {
            decision.reason = truncate_message(&format!("{SWEEP_REASON_PREFIX}{}", decision.reason)).into_owned();
        }
        self.start(decision, &message, now, &loaded).await
    }
}

impl<S: ParameterStore, A: AppFlow, M: StateMachine, C: Clock> OnFailure<S, A, M, C> {
    /// The execution named `name` exists: reads its decision (DescribeExecution) and compares
    /// it with ours (docs/design.md §5.4). A duplicate of this failure's handling is fine; any
    /// other decision is a `DecisionConflict`, counted and logged with both decisions. An
    /// execution whose input cannot be read is never taken for a duplicate: its error is named
    /// and Lambda retries the event.
    async fn check_existing(&self, name: &str, ours: &Decision, now: DateTime<Utc>) -> Result<(), OnFailureError> {
        let input = self
            .state_machine
            .execution_input(name)
            .await
            .map_err(state_machine_error)?
            .ok_or_else(|| {
                OnFailureError::StateMachineUnavailable(PortError::Unavailable(format!(
                    "StartExecution answered that the execution {name} exists, but DescribeExecution finds no input for it"
                )))
            })?;
        let theirs = conflict::decision_of_input(&input);
        // The sweep's prefix is not a rule's: the footing is read from the rule's reason.
        let reason = ours.reason.strip_prefix(SWEEP_REASON_PREFIX).unwrap_or(&ours.reason);
        match conflict::compare(ours, conflict::footing(reason), &theirs) {
            Comparison::Duplicate => Ok(()),
            Comparison::Conflict(differences) => {
                telemetry::decision_conflict(name, ours, &theirs, &differences);
                telemetry::emit(&[telemetry::decision_conflict_metric(&ours.flow, now.timestamp_millis())]);
                // Theirs can be anything up to Step Functions' 256 KiB input: each part is cut
                // to 4 KiB, so the invocation record still fits the errors queue.
                let cut = |s: String| truncate_message(&s).into_owned();
                Err(OnFailureError::DecisionConflict {
                    execution_name: name.to_owned(),
                    ours: cut(telemetry::brief(ours)),
                    theirs: cut(theirs.as_ref().map_or_else(Clone::clone, telemetry::brief)),
                    differences: cut(conflict::describe(&differences)),
                })
            }
        }
    }
}

fn state_machine_error(e: PortError) -> OnFailureError {
    match e {
        PortError::Failed(_) | PortError::NotFound(_) => OnFailureError::StateMachineRejected(e),
        PortError::Throttled(_) | PortError::Unavailable(_) => OnFailureError::StateMachineUnavailable(e),
    }
}
