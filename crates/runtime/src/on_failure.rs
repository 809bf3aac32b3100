//! The on-failure handler: one failed flow run in, one state machine
//! execution out (DESIGN §1 steps 1–5).

use appflow_retry_policy::naming::execution_name;
use appflow_retry_policy::{Decision, EventError, FailureEvent, Precheck, SplitMix64, precheck};
use serde::Serialize;
use serde_json::{Value, json};

use crate::history::read_history;
use crate::policy_cache::PolicyCache;
use crate::ports::{AppFlow, Clock, ParameterStore, PortError, StartOutcome, StateMachine};
use crate::telemetry;

/// Why an event could not be handled. Each has a stable name (the Lambda
/// error type) so that logs, alarms and retries can tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum OnFailureError {
    #[error(transparent)]
    InvalidEvent(#[from] EventError),
    #[error("SSM policy parameters cannot be read: {0}")]
    PolicyUnavailable(PortError),
    #[error("the flow's run history cannot be read, so no decision is made: {0}")]
    HistoryUnavailable(PortError),
    #[error("the state machine execution cannot be started: {0}")]
    StateMachineUnavailable(PortError),
}

impl OnFailureError {
    /// The error's stable name.
    pub fn error_type(&self) -> &'static str {
        match self {
            OnFailureError::InvalidEvent(_) => "InvalidEvent",
            OnFailureError::PolicyUnavailable(_) => "PolicyUnavailable",
            OnFailureError::HistoryUnavailable(_) => "HistoryUnavailable",
            OnFailureError::StateMachineUnavailable(_) => "StateMachineUnavailable",
        }
    }
}

/// What the handler did.
#[derive(Debug, Clone, Serialize)]
pub struct OnFailureOutput {
    pub decision: Decision,
    pub execution_name: String,
    /// `started`, or `already_exists` when this event was handled before
    /// with another input. (For an identical duplicate of a running
    /// execution, Step Functions returns that execution: `started`, and
    /// still nothing new runs.)
    pub execution: &'static str,
    /// Problems in the policy parameters that made the flow fall back.
    pub policy_problems: Vec<String>,
}

/// The handler with its ports. Built once per Lambda process.
#[derive(Debug)]
pub struct OnFailure<S, A, M, C> {
    pub policies: PolicyCache<S>,
    pub appflow: A,
    pub state_machine: M,
    pub clock: C,
    pub max_history_pages: usize,
}

/// The state machine's input (DESIGN §4): `decision` is what `appflow-retry
/// explain` prints; `error_message` is AppFlow's message for the failed run
/// (the event's `error`), for the notifications.
pub fn state_machine_input(decision: &Decision, error_message: &str) -> Value {
    json!({
        "flow_name": decision.flow,
        "execution_id": decision.execution_id,
        "error_message": error_message,
        "decision": decision,
    })
}

impl<S: ParameterStore, A: AppFlow, M: StateMachine, C: Clock> OnFailure<S, A, M, C> {
    /// Handles an event given as JSON.
    pub async fn handle(&self, event: &Value) -> Result<OnFailureOutput, OnFailureError> {
        self.handle_event(FailureEvent::from_json(event)?).await
    }

    /// Handles a parsed event.
    pub async fn handle_event(&self, event: FailureEvent) -> Result<OnFailureOutput, OnFailureError> {
        let now = self.clock.now();
        let loaded = self
            .policies
            .load(&event.flow_name, now)
            .await
            .map_err(OnFailureError::PolicyUnavailable)?;
        telemetry::policy_problems(&event.flow_name, &loaded);

        let mut message = event.error.clone();
        let decision = match precheck(&event, &loaded.policy) {
            Precheck::Decided(d) => d,
            Precheck::NeedsHistory(pending) => {
                let records = read_history(&self.appflow, &event.flow_name, self.max_history_pages)
                    .await
                    .map_err(OnFailureError::HistoryUnavailable)?;
                // The event usually carries AppFlow's message; the run record does too.
                message = message.or_else(|| {
                    records
                        .iter()
                        .find(|r| r.execution_id == event.execution_id)
                        .and_then(|r| r.message.clone())
                });
                pending.decide(&records, now, &mut SplitMix64::for_execution(&event.execution_id))
            }
        };
        let message = message.as_deref().unwrap_or_default();
        telemetry::decision(&decision, message, !loaded.problems.is_empty());

        let name = execution_name(&event.flow_name, &event.execution_id);
        let input = state_machine_input(&decision, message).to_string();
        let outcome = self
            .state_machine
            .start_execution(&name, &input)
            .await
            .map_err(OnFailureError::StateMachineUnavailable)?;
        let execution = match outcome {
            StartOutcome::Started { .. } => "started",
            StartOutcome::AlreadyExists => {
                tracing::info!(execution_name = %name, "execution exists: this failure was handled already");
                "already_exists"
            }
        };
        Ok(OnFailureOutput {
            decision,
            execution_name: name,
            execution,
            policy_problems: loaded.problems.iter().map(ToString::to_string).collect(),
        })
    }
}
