//! What the two Lambda binaries share: configuration from the environment,
//! JSON logging, metric lines, and the error names Lambda reports.
//!
//! Environment (DESIGN §5): `APPFLOW_RETRY_POLICY_PREFIX` (default
//! `/appflow-retry`), `APPFLOW_RETRY_STATE_MACHINE_ARN` (on-failure only),
//! `APPFLOW_RETRY_POLICY_TTL_SECONDS` (default 60). Endpoints come from the
//! standard `AWS_ENDPOINT_URL*` variables.

use appflow_retry_aws::{AppFlowClient, AppFlowRetry, Ssm, StepFunctions, sdk_config_from_env};
use appflow_retry_policy::FailureEvent;
use appflow_retry_policy::naming::DEFAULT_POLICY_PREFIX;
use appflow_retry_runtime::history::DEFAULT_MAX_PAGES;
use appflow_retry_runtime::ports::SystemClock;
use appflow_retry_runtime::telemetry::decision_metrics;
use appflow_retry_runtime::{
    DEFAULT_TTL_SECONDS, OnFailure, OnFailureError, OnFailureOutput, PolicyCache, Restart, RestartError,
};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

pub const ENV_PREFIX: &str = "APPFLOW_RETRY_POLICY_PREFIX";
pub const ENV_STATE_MACHINE: &str = "APPFLOW_RETRY_STATE_MACHINE_ARN";
pub const ENV_TTL: &str = "APPFLOW_RETRY_POLICY_TTL_SECONDS";

/// Settings read from the environment at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub policy_prefix: String,
    pub policy_ttl_seconds: u64,
    pub state_machine_arn: Option<String>,
}

impl Settings {
    /// Reads the settings through `var` (the process environment in Lambda).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let policy_ttl_seconds = match var(ENV_TTL).filter(|v| !v.is_empty()) {
            None => DEFAULT_TTL_SECONDS,
            Some(v) => v
                .parse()
                .map_err(|_| format!("{ENV_TTL}={v:?} is not a whole number of seconds"))?,
        };
        let policy_prefix = var(ENV_PREFIX)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_POLICY_PREFIX.to_owned());
        if !policy_prefix.starts_with('/') {
            return Err(format!("{ENV_PREFIX}={policy_prefix:?} must start with '/'"));
        }
        Ok(Settings {
            policy_prefix,
            policy_ttl_seconds,
            state_machine_arn: var(ENV_STATE_MACHINE).filter(|v| !v.is_empty()),
        })
    }

    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|k| std::env::var(k).ok())
    }
}

/// JSON logs, one object per line, without ANSI colours; level from `RUST_LOG` (default info).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_ansi(false)
        .with_target(false)
        .with_env_filter(filter)
        .init();
}

/// A handler error as Lambda reports it: `errorType` is the stable name the
/// state machine's Retry/Catch and the alarms match.
#[derive(Debug)]
pub struct NamedError {
    pub error_type: &'static str,
    pub message: String,
}

impl From<NamedError> for Diagnostic {
    fn from(e: NamedError) -> Diagnostic {
        Diagnostic {
            error_type: e.error_type.to_owned(),
            error_message: e.message,
        }
    }
}

impl NamedError {
    /// Logs the error and names it for Lambda.
    fn new(error_type: &'static str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error_type, error = %error, "invocation failed");
        NamedError {
            error_type,
            message: error.to_string(),
        }
    }
}

impl From<OnFailureError> for NamedError {
    fn from(e: OnFailureError) -> Self {
        NamedError::new(e.error_type(), &e)
    }
}

impl From<RestartError> for NamedError {
    fn from(e: RestartError) -> Self {
        NamedError::new(e.error_type(), &e)
    }
}

/// The on-failure function's handler type, with the AWS adapters.
pub type OnFailureHandler = OnFailure<Ssm, AppFlowClient, StepFunctions, SystemClock>;
pub type RestartHandler = Restart<Ssm, AppFlowClient, SystemClock>;

/// Builds the on-failure handler from the environment.
pub async fn on_failure_from_env() -> Result<OnFailureHandler, String> {
    let settings = Settings::from_env()?;
    let arn = settings
        .state_machine_arn
        .clone()
        .ok_or_else(|| format!("{ENV_STATE_MACHINE} is not set"))?;
    let config = sdk_config_from_env().await;
    Ok(OnFailure {
        policies: PolicyCache::new(Ssm::new(&config), &settings.policy_prefix, settings.policy_ttl_seconds),
        appflow: AppFlowClient::new(&config, &AppFlowRetry::default()),
        state_machine: StepFunctions::new(&config, &arn),
        clock: SystemClock,
        max_history_pages: DEFAULT_MAX_PAGES,
    })
}

/// Builds the restart handler from the environment.
pub async fn restart_from_env() -> Result<RestartHandler, String> {
    let settings = Settings::from_env()?;
    let config = sdk_config_from_env().await;
    Ok(Restart {
        policies: PolicyCache::new(Ssm::new(&config), &settings.policy_prefix, settings.policy_ttl_seconds),
        appflow: AppFlowClient::new(&config, &AppFlowRetry::default()),
        clock: SystemClock,
        max_history_pages: DEFAULT_MAX_PAGES,
    })
}

/// The on-failure function: an EventBridge event in, the decision out.
pub async fn on_failure_fn(
    handler: &OnFailureHandler,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<OnFailureOutput, NamedError> {
    let e = event.payload;
    let parsed = FailureEvent::from_parts(Some(&e.source), Some(&e.detail_type), e.time, &e.detail)
        .map_err(OnFailureError::from)?;
    let out = handler.handle_event(parsed).await?;
    for line in decision_metrics(
        &out.decision,
        !out.policy_problems.is_empty(),
        chrono::Utc::now().timestamp_millis(),
    ) {
        // Embedded metric format: CloudWatch reads metrics from these stdout lines.
        println!("{line}");
    }
    Ok(out)
}
