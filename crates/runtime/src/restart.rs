//! The restart handler, invoked by the state machine after the Wait: checks
//! that the restart still makes sense, then calls StartFlow (DESIGN §5).

use appflow_retry_policy::naming::client_token;
use appflow_retry_policy::{Action, Decision};
use serde::{Deserialize, Serialize};

use crate::history::read_history;
use crate::policy_cache::PolicyCache;
use crate::ports::{AppFlow, Clock, ParameterStore, PortError};

/// The state machine's input, as the on-failure handler built it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RestartInput {
    pub flow_name: String,
    pub execution_id: String,
    pub decision: Decision,
}

/// What the restart did; the state machine branches on `notify`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartOutput {
    /// `restarted` or `skipped`.
    pub outcome: &'static str,
    pub new_execution_id: Option<String>,
    pub reason: String,
    /// Whether `decision.notify_on` asks for this outcome (`retry` for a
    /// restart, `skip` for a skip).
    pub notify: bool,
}

/// Errors with stable names that the state machine's Retry and Catch match.
#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    #[error("invalid restart input: {0}")]
    InvalidInput(String),
    #[error("AppFlow throttled the restart: {0}")]
    AppFlowThrottled(PortError),
    #[error("AppFlow is unavailable: {0}")]
    AppFlowUnavailable(PortError),
    #[error("AppFlow refused the restart: {0}")]
    AppFlowFailed(PortError),
    #[error("SSM policy parameters cannot be read: {0}")]
    PolicyUnavailable(PortError),
}

impl RestartError {
    pub fn error_type(&self) -> &'static str {
        match self {
            RestartError::InvalidInput(_) => "InvalidInput",
            RestartError::AppFlowThrottled(_) => "AppFlowThrottled",
            RestartError::AppFlowUnavailable(_) => "AppFlowUnavailable",
            RestartError::AppFlowFailed(_) => "AppFlowFailed",
            RestartError::PolicyUnavailable(_) => "PolicyUnavailable",
        }
    }
}

impl From<PortError> for RestartError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::Throttled(_) => RestartError::AppFlowThrottled(e),
            PortError::Unavailable(_) => RestartError::AppFlowUnavailable(e),
            PortError::Failed(_) => RestartError::AppFlowFailed(e),
        }
    }
}

#[derive(Debug)]
pub struct Restart<S, A, C> {
    pub policies: PolicyCache<S>,
    pub appflow: A,
    pub clock: C,
    pub max_history_pages: usize,
}

impl<S: ParameterStore, A: AppFlow, C: Clock> Restart<S, A, C> {
    pub async fn handle(&self, input: &serde_json::Value) -> Result<RestartOutput, RestartError> {
        let input: RestartInput = serde_path_to_error::deserialize(input)
            .map_err(|e| RestartError::InvalidInput(format!("field `{}`: {}", e.path(), e.inner())))?;
        let d = &input.decision;
        let skip = |reason: String| {
            tracing::info!(flow = %input.flow_name, execution_id = %input.execution_id, outcome = "skipped", %reason, "restart");
            RestartOutput {
                outcome: "skipped",
                new_execution_id: None,
                notify: d.notify_on.contains(&Action::Skip),
                reason,
            }
        };
        if d.action != Action::Retry {
            return Err(RestartError::InvalidInput(format!(
                "decision.action is {}, not retry",
                d.action
            )));
        }

        let loaded = self
            .policies
            .load(&input.flow_name, self.clock.now())
            .await
            .map_err(RestartError::PolicyUnavailable)?;
        if !loaded.policy.policy.enabled {
            return Ok(skip("retries were disabled for this flow after the decision".into()));
        }
        let Some(flow) = self.appflow.describe_flow(&input.flow_name).await? else {
            return Ok(skip("the flow no longer exists".into()));
        };
        if flow.status != "Active" {
            return Ok(skip(format!("the flow is {}, not Active", flow.status)));
        }
        if !flow.trigger_type.eq_ignore_ascii_case("OnDemand") {
            return Ok(skip(format!(
                "the flow's trigger is {}: AppFlow cannot re-run it on demand",
                flow.trigger_type
            )));
        }
        let records = read_history(&self.appflow, &input.flow_name, self.max_history_pages).await?;
        let newer = records
            .iter()
            .filter(|r| r.execution_id != input.execution_id)
            .filter_map(|r| r.time().map(|t| (t, r)))
            .filter(|(t, _)| *t > d.failed_run_started_at)
            .max_by_key(|(t, _)| *t);
        if let Some((_, r)) = newer {
            return Ok(skip(format!(
                "a newer run {} ({}) exists since the decision",
                r.execution_id,
                r.status.as_str()
            )));
        }

        let new_id = self
            .appflow
            .start_flow(&input.flow_name, &client_token(&input.execution_id))
            .await?;
        let reason = format!(
            "restart {} of {} after {}s",
            d.attempt.unwrap_or(1),
            d.max_retries,
            d.delay_seconds.unwrap_or(0)
        );
        tracing::info!(flow = %input.flow_name, execution_id = %input.execution_id, outcome = "restarted", new_execution_id = ?new_id, %reason, "restart");
        Ok(RestartOutput {
            outcome: "restarted",
            new_execution_id: new_id,
            reason,
            notify: d.notify_on.contains(&Action::Retry),
        })
    }
}
