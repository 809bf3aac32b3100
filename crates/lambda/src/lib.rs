//! What the Lambda binaries share: configuration from the environment,
//! JSON logging, metric lines, and the error names Lambda reports.
//!
//! Environment (docs/design.md §5.2): `APPFLOW_RETRY_POLICY_PREFIX` (default
//! `/appflow-retry`), `APPFLOW_RETRY_STATE_MACHINE_ARN` (all three), `APPFLOW_RETRY_POLICY_TTL_SECONDS` (default 60),
//! `APPFLOW_RETRY_COVERED_FLOWS` (sweep: comma-separated names or prefixes
//! ending in `*`; empty: every flow), `APPFLOW_RETRY_RESTART_PACE_MS`
//! (restart: the shortest invocation from the restart queue, docs/design.md
//! §5.12; default 0). Endpoints come from the standard
//! `AWS_ENDPOINT_URL*` variables.

#![warn(missing_docs)]

use appflow_retry_aws::{
    AppFlowSdkRetry, AwsAppFlow, SfnStateMachine, SfnTaskTokens, SqsQueue, SsmParameterStore, sdk_config_from_env,
};
use appflow_retry_policy::naming::DEFAULT_POLICY_PREFIX;
use appflow_retry_runtime::history::DEFAULT_MAX_PAGES;
use appflow_retry_runtime::ports::SystemClock;
use appflow_retry_runtime::{
    BatchReply, Coverage, CoverageError, DEFAULT_TTL_SECONDS, IntakeBacklog, OnFailure, OnFailureError, PolicyCache,
    Reply, Restart, RestartError, RestartOutput, RestartPace, Sweep, SweepError, SweepLimits, SweepOutput, sqs_batch,
};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use std::str::FromStr;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The SSM path prefix of the policies (default `/appflow-retry`).
pub const ENV_PREFIX: &str = "APPFLOW_RETRY_POLICY_PREFIX";
/// The retry state machine's ARN (on-failure and sweep).
pub const ENV_STATE_MACHINE: &str = "APPFLOW_RETRY_STATE_MACHINE_ARN";
/// How long a policy read from SSM is reused, in seconds (default 60).
pub const ENV_TTL: &str = "APPFLOW_RETRY_POLICY_TTL_SECONDS";
/// The flows the sweep covers: names, or prefixes ending in `*` (empty: all).
pub const ENV_COVERED_FLOWS: &str = "APPFLOW_RETRY_COVERED_FLOWS";
/// The restart function's pace: the shortest invocation from the restart
/// queue waits after its restart, in milliseconds (Terraform computes it from
/// `restart_rate_per_minute`).
pub const ENV_RESTART_PACE: &str = "APPFLOW_RETRY_RESTART_PACE_MS";
/// The intake queue's URL (sweep): while it holds events, the sweep leaves
/// failures younger than the backlog grace to them (docs/design.md §5.9).
pub const ENV_INTAKE_QUEUE: &str = "APPFLOW_RETRY_INTAKE_QUEUE_URL";

/// Why a function cannot start: a setting of its environment is unusable.
/// The message names the variable and its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// [`ENV_TTL`] is not a whole number.
    #[error("{}={:?} is not a whole number of seconds", ENV_TTL, .0)]
    Ttl(String),
    /// [`ENV_PREFIX`] is not an SSM path.
    #[error("{}={:?} must start with '/'", ENV_PREFIX, .0)]
    Prefix(String),
    /// An entry of [`ENV_COVERED_FLOWS`] is unusable (the message says which).
    #[error("{}: {}", ENV_COVERED_FLOWS, .0)]
    CoveredFlows(#[source] CoverageError),
    /// [`ENV_RESTART_PACE`] is not a whole number of milliseconds (at most 15 minutes).
    #[error("{}={:?} is not a whole number of milliseconds up to 900000", ENV_RESTART_PACE, .0)]
    RestartPace(String),
    /// [`ENV_STATE_MACHINE`] is missing where executions are started.
    #[error("{} is not set", ENV_STATE_MACHINE)]
    NoStateMachine,
}

/// Settings read from the environment at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// From [`ENV_PREFIX`].
    pub policy_prefix: String,
    /// From [`ENV_TTL`].
    pub policy_ttl_seconds: u64,
    /// From [`ENV_STATE_MACHINE`]; required by the functions that start executions.
    pub state_machine_arn: Option<String>,
    /// The flows the sweep covers (empty: all).
    pub coverage: Coverage,
    /// From [`ENV_RESTART_PACE`] (restart).
    pub restart_pace: RestartPace,
}

impl Settings {
    /// Reads the settings through `var` (the process environment in Lambda).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let policy_ttl_seconds = match var(ENV_TTL).filter(|v| !v.is_empty()) {
            None => DEFAULT_TTL_SECONDS,
            Some(v) => v.parse().map_err(|_| SettingsError::Ttl(v))?,
        };
        let policy_prefix = var(ENV_PREFIX)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_POLICY_PREFIX.to_owned());
        if !policy_prefix.starts_with('/') {
            return Err(SettingsError::Prefix(policy_prefix));
        }
        let coverage =
            Coverage::parse(&var(ENV_COVERED_FLOWS).unwrap_or_default()).map_err(SettingsError::CoveredFlows)?;
        let pace_ms = match var(ENV_RESTART_PACE).filter(|v| !v.is_empty()) {
            None => 0,
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if ms <= 900_000 => ms,
                _ => return Err(SettingsError::RestartPace(v)),
            },
        };
        Ok(Settings {
            policy_prefix,
            policy_ttl_seconds,
            state_machine_arn: var(ENV_STATE_MACHINE).filter(|v| !v.is_empty()),
            coverage,
            restart_pace: RestartPace {
                pace: std::time::Duration::from_millis(pace_ms),
            },
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }
}

/// The name of the span the Lambda runtime opens around each invocation; it
/// carries the `requestId` (and `xrayTraceId` when traced).
pub const INVOCATION_SPAN: &str = "Lambda runtime invoke";

/// The log level filter, as the Lambda runtime's own subscriber chooses it:
/// `AWS_LAMBDA_LOG_LEVEL` (Lambda sets it from the function's application
/// log level) wins, then `RUST_LOG` (directives such as
/// `appflow_retry_runtime=debug` work), then `info`. Lambda's `FATAL` is
/// `error` here: `tracing` has no fatal level. An unreadable value falls
/// back to `info` rather than silencing the function.
pub fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let lambda_level = lambda_level.map(str::trim).filter(|l| !l.is_empty());
    if let Some(level) = lambda_level {
        let level = if level.eq_ignore_ascii_case("fatal") {
            "error"
        } else {
            level
        };
        let level = LevelFilter::from_str(level).unwrap_or(LevelFilter::INFO);
        return EnvFilter::default().add_directive(level.into());
    }
    match rust_log.map(str::trim).filter(|l| !l.is_empty()) {
        Some(directives) => EnvFilter::builder()
            .with_default_directive(LevelFilter::INFO.into())
            .parse(directives)
            .unwrap_or_else(|_| EnvFilter::new("info")),
        None => EnvFilter::new("info"),
    }
}

/// JSON logs, one object per line, without ANSI colours, level from
/// [`log_filter`]. Each line written during an invocation carries the
/// runtime's invocation span (`"span": {"name": "Lambda runtime invoke",
/// "requestId": ...}`), whatever the level: the span is let through even
/// when its own level (info) is filtered out. Metric lines (EMF) go to
/// stdout too, at a level Lambda keeps (telemetry's `metric_level`).
pub fn init_logging() {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let filter = log_filter(lambda_level.as_deref(), std::env::var("RUST_LOG").ok().as_deref());
    let invocation = filter_fn(|meta| meta.is_span() && meta.name() == INVOCATION_SPAN);
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .with_target(false)
        .with_filter(filter.or(invocation));
    tracing_subscriber::registry().with(json).init();
    appflow_retry_runtime::telemetry::metrics_to_stdout(lambda_level.as_deref());
}

/// A handler error as Lambda reports it: `errorType` is the stable name the
/// state machine's Retry/Catch and the alarms match.
#[derive(Debug)]
pub struct NamedError {
    /// Lambda's `errorType`.
    pub error_type: &'static str,
    /// Lambda's `errorMessage`.
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

impl From<SweepError> for NamedError {
    fn from(e: SweepError) -> Self {
        NamedError::new(e.error_type(), &e)
    }
}

impl From<RestartError> for NamedError {
    fn from(e: RestartError) -> Self {
        NamedError::new(e.error_type(), &e)
    }
}

/// The on-failure function's handler type, with the AWS adapters.
pub type OnFailureHandler = OnFailure<SsmParameterStore, AwsAppFlow, SfnStateMachine, SystemClock>;
/// The restart function's handler type, with the AWS adapters.
pub type RestartHandler = Restart<SsmParameterStore, AwsAppFlow, SystemClock>;

/// The restart function: its handler, the task-token API it answers the
/// restart queue's executions with, and its pace.
#[derive(Debug)]
pub struct RestartFunction {
    /// The restart handler.
    pub handler: RestartHandler,
    /// SendTaskHeartbeat, SendTaskSuccess, SendTaskFailure.
    pub tasks: SfnTaskTokens,
    /// The shortest invocation from the restart queue.
    pub pace: RestartPace,
}
/// The sweep function's handler type, with the AWS adapters.
pub type SweepHandler = Sweep<SsmParameterStore, AwsAppFlow, SfnStateMachine, SystemClock>;

/// The sweep function: the sweep, and the intake queue whose depth sets its
/// grace.
#[derive(Debug)]
pub struct SweepFunction {
    /// The sweep.
    pub handler: SweepHandler,
    /// GetQueueAttributes.
    pub queue: SqsQueue,
    /// From [`ENV_INTAKE_QUEUE`]; unset: the backlog is unknown (the short grace).
    pub intake_queue_url: Option<String>,
}

/// Builds the on-failure handler from the environment.
pub async fn on_failure_from_env() -> Result<OnFailureHandler, SettingsError> {
    let settings = Settings::from_env()?;
    let arn = settings
        .state_machine_arn
        .clone()
        .ok_or(SettingsError::NoStateMachine)?;
    let config = sdk_config_from_env().await;
    Ok(OnFailure {
        policies: PolicyCache::new(
            SsmParameterStore::new(&config),
            &settings.policy_prefix,
            settings.policy_ttl_seconds,
        ),
        appflow: AwsAppFlow::new(&config, &AppFlowSdkRetry::default()),
        state_machine: SfnStateMachine::new(&config, &arn),
        clock: SystemClock,
        max_history_pages: DEFAULT_MAX_PAGES,
    })
}

/// Builds the sweep from the environment: the on-failure handler's ports
/// and settings, and the covered flows.
pub async fn sweep_from_env() -> Result<SweepFunction, SettingsError> {
    let coverage = Settings::from_env()?.coverage;
    Ok(SweepFunction {
        handler: Sweep::new(on_failure_from_env().await?, coverage, SweepLimits::default()),
        queue: SqsQueue::new(&sdk_config_from_env().await),
        intake_queue_url: std::env::var(ENV_INTAKE_QUEUE).ok().filter(|v| !v.is_empty()),
    })
}

/// Builds the restart function from the environment.
pub async fn restart_from_env() -> Result<RestartFunction, SettingsError> {
    let settings = Settings::from_env()?;
    let arn = settings
        .state_machine_arn
        .clone()
        .ok_or(SettingsError::NoStateMachine)?;
    let config = sdk_config_from_env().await;
    Ok(RestartFunction {
        handler: Restart {
            policies: PolicyCache::new(
                SsmParameterStore::new(&config),
                &settings.policy_prefix,
                settings.policy_ttl_seconds,
            ),
            appflow: AwsAppFlow::new(&config, &AppFlowSdkRetry::default()),
            clock: SystemClock,
            max_history_pages: DEFAULT_MAX_PAGES,
        },
        tasks: SfnTaskTokens::new(&config, &arn),
        pace: settings.restart_pace,
    })
}

/// How long before the invocation's deadline a handler gives up, so that
/// it returns a named, retryable error instead of being killed mid-call.
pub const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs `work` until the invocation's deadline less [`DEADLINE_MARGIN`];
/// past that, the error `DeadlineExceeded` (the AppFlow client's retries
/// can outlast a Lambda timeout: docs/design.md §6.6).
pub async fn within_deadline<T, E: Into<NamedError>>(
    context: &Context,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, NamedError> {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let left =
        std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms)).saturating_sub(DEADLINE_MARGIN);
    match tokio::time::timeout(left, work).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(NamedError::new(
            "DeadlineExceeded",
            &format!(
                "the invocation's deadline is {} s away: stopped before Lambda kills the call (nothing is lost: the caller retries)",
                DEADLINE_MARGIN.as_secs()
            ),
        )),
    }
}

/// The on-failure function: an EventBridge event in, the decision out (for
/// a successful run's report, what became of it: docs/design.md §4,
/// recovery rules). The
/// payload is read as plain JSON so that a malformed envelope is an
/// `InvalidEvent` naming its field, not a runtime deserialisation error.
///
/// From the intake queue (docs/design.md §5.11) the payload is an SQS batch:
/// each message is handled as an event, and the reply names the messages
/// to keep (`batchItemFailures`); no message is started after
/// [`work_deadline`]. A batch whose envelope is broken is an `InvalidEvent` for all of it.
pub async fn on_failure_fn(
    handler: &OnFailureHandler,
    event: LambdaEvent<Value>,
) -> Result<OnFailureReply, NamedError> {
    match sqs_batch(&event.payload) {
        None => within_deadline(&event.context, handler.handle_any(&event.payload))
            .await
            .map(|r| OnFailureReply::Event(Box::new(r))),
        Some(Err(e)) => Err(OnFailureError::from(e).into()),
        Some(Ok(messages)) => {
            let stop_at = work_deadline(&event.context);
            let batch = async {
                Ok::<_, OnFailureError>(
                    handler
                        .handle_batch(messages, || std::time::Instant::now() >= stop_at)
                        .await,
                )
            };
            within_deadline(&event.context, batch).await.map(OnFailureReply::Batch)
        }
    }
}

/// on-failure's reply: an event's, or a batch's.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum OnFailureReply {
    /// Invoked with an event (redrive, a test).
    Event(Box<Reply>),
    /// Invoked by the intake queue's event source mapping.
    Batch(BatchReply),
}

/// How long before the invocation's deadline the sweep starts no new flow,
/// and a batch no new message, at most (half the time left, when less): one
/// flow's work (AppFlow's retries ride out about a minute of throttling)
/// then still ends before [`DEADLINE_MARGIN`].
pub const WORK_STOP_MARGIN: std::time::Duration = std::time::Duration::from_secs(75);

/// The instant the sweep starts no new flow after (and a batch no new
/// message): the invocation's deadline less [`WORK_STOP_MARGIN`] or half the
/// time left, whichever is less.
pub fn work_deadline(context: &Context) -> std::time::Instant {
    let left = time_left(context);
    std::time::Instant::now() + left.saturating_sub(WORK_STOP_MARGIN.min(left / 2))
}

/// The sweep function: a scheduled event in (its content is not read), what
/// the sweep did out. Past the invocation's deadline, `DeadlineExceeded`.
pub async fn sweep_fn(function: &SweepFunction, event: LambdaEvent<Value>) -> Result<SweepOutput, NamedError> {
    let stop_at = work_deadline(&event.context);
    let sweep = async {
        let backlog = match &function.intake_queue_url {
            Some(url) => IntakeBacklog::read(&function.queue, url).await,
            None => IntakeBacklog::Unknown,
        };
        function
            .handler
            .run_with(backlog, || std::time::Instant::now() >= stop_at)
            .await
    };
    within_deadline(&event.context, sweep).await
}

/// How long before the invocation's deadline a queued restart is abandoned
/// (and answered `DeadlineExceeded`): room for the answer itself.
pub const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// The restart function. From the restart queue (docs/design.md §5.12), an
/// SQS batch: each message's restart is done and answered to its waiting
/// execution, the reply keeps the messages to retry, and the invocation
/// lasts at least the pace (the restart storm guard). Invoked directly (by
/// an execution that started before the restart queue existed), the Restart
/// task's payload in, the outcome out.
///
/// The invocation waits the pace after its restart (before it returns), so
/// that the slot's next restart is at least that far from this one.
pub async fn restart_fn(function: &RestartFunction, event: LambdaEvent<Value>) -> Result<RestartReply, NamedError> {
    match sqs_batch(&event.payload) {
        None => within_deadline(&event.context, function.handler.handle(&event.payload))
            .await
            .map(|o| RestartReply::Output(Box::new(o))),
        Some(Err(e)) => Err(NamedError::new("InvalidInput", &e)),
        Some(Ok(messages)) => {
            let stop_at = work_deadline(&event.context);
            let left = time_left(&event.context);
            let abandon_at = tokio::time::Instant::now() + left.saturating_sub(DEADLINE_MARGIN + ANSWER_MARGIN);
            let batch = async {
                Ok::<_, RestartError>(
                    function
                        .handler
                        .handle_queued(
                            &function.tasks,
                            messages,
                            || std::time::Instant::now() >= stop_at,
                            Some(abandon_at),
                        )
                        .await,
                )
            };
            let reply = within_deadline(&event.context, batch).await?;
            // The pace after the restart: this slot's next StartFlow is at least that far away.
            // A batch that reached no restart (no token, a task no longer waiting, a failed
            // heartbeat) started nothing: it does not hold the slot.
            if reply.restarts > 0 {
                let rest = function
                    .pace
                    .rest(time_left(&event.context).saturating_sub(DEADLINE_MARGIN));
                tokio::time::sleep(rest).await;
            }
            Ok(RestartReply::Batch(reply))
        }
    }
}

/// The time left until the invocation's deadline.
fn time_left(context: &Context) -> std::time::Duration {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms))
}

/// The restart function's reply: a direct invocation's output, or a batch's.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RestartReply {
    /// Invoked with the Restart task's payload.
    Output(Box<RestartOutput>),
    /// Invoked by the restart queue's event source mapping.
    Batch(BatchReply),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn context_with(ms_left: i64) -> Context {
        let mut context = Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + ms_left).unwrap();
        context
    }

    #[test]
    fn the_sweep_stops_starting_flows_well_before_the_deadline() {
        let secs_until = |ms_left: i64| {
            work_deadline(&context_with(ms_left))
                .saturating_duration_since(std::time::Instant::now())
                .as_secs_f64()
        };
        let long = secs_until(300_000);
        assert!((224.0..=225.5).contains(&long), "{long}: 300 s less 75 s");
        let short = secs_until(60_000);
        assert!((29.0..=30.5).contains(&short), "{short}: half of 60 s");
        assert!(secs_until(-1_000) < 0.5, "past the deadline: at once");
    }

    #[test]
    fn covered_flows_come_from_the_environment_and_a_bad_entry_is_named() {
        let vars = |covered: &'static str| move |k: &str| (k == ENV_COVERED_FLOWS).then(|| covered.to_owned());
        let settings = Settings::from_vars(vars("sap-*,salesforce-accounts")).unwrap();
        assert!(settings.coverage.covers("sap-orders"));
        assert!(!settings.coverage.covers("marketo"));
        assert!(Settings::from_vars(vars("")).unwrap().coverage.covers("marketo"));
        let err = Settings::from_vars(vars("sap*x")).unwrap_err().to_string();
        assert!(err.contains(ENV_COVERED_FLOWS) && err.contains("sap*x"), "{err}");
    }

    #[test]
    fn an_unusable_setting_is_named_with_its_value() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned())
        };
        let err = Settings::from_vars(vars(&[(ENV_TTL, "1m")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "APPFLOW_RETRY_POLICY_TTL_SECONDS=\"1m\" is not a whole number of seconds"
        );
        let err = Settings::from_vars(vars(&[(ENV_PREFIX, "appflow")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "APPFLOW_RETRY_POLICY_PREFIX=\"appflow\" must start with '/'"
        );
        let fine = Settings::from_vars(vars(&[(ENV_TTL, ""), (ENV_PREFIX, "")])).unwrap();
        assert_eq!(
            (fine.policy_prefix.as_str(), fine.policy_ttl_seconds),
            ("/appflow-retry", 60)
        );
        assert_eq!(fine.state_machine_arn, None);
        assert_eq!(
            SettingsError::NoStateMachine.to_string(),
            "APPFLOW_RETRY_STATE_MACHINE_ARN is not set"
        );
    }

    #[tokio::test]
    async fn a_call_that_would_outlive_the_invocation_ends_with_a_named_error_in_time() {
        let started = std::time::Instant::now();
        let hung = std::future::pending::<Result<(), NamedError>>();
        let err = within_deadline(&context_with(3_300), hung).await.unwrap_err();
        assert_eq!(err.error_type, "DeadlineExceeded");
        let waited = started.elapsed();
        assert!(
            waited < std::time::Duration::from_millis(2_000),
            "{waited:?}: the margin is kept"
        );

        let done = async { Ok::<_, NamedError>(7) };
        assert_eq!(within_deadline(&context_with(60_000), done).await.unwrap(), 7);
    }

    #[test]
    fn the_lambda_log_level_wins_over_rust_log_and_fatal_is_error() {
        let hint = |lambda: Option<&str>, rust: Option<&str>| log_filter(lambda, rust).max_level_hint();
        assert_eq!(hint(None, None), Some(LevelFilter::INFO));
        assert_eq!(hint(Some("DEBUG"), Some("error")), Some(LevelFilter::DEBUG));
        assert_eq!(hint(Some("WARN"), None), Some(LevelFilter::WARN));
        assert_eq!(hint(Some("FATAL"), None), Some(LevelFilter::ERROR));
        assert_eq!(
            hint(Some("  "), Some("trace")),
            Some(LevelFilter::TRACE),
            "blank: not set"
        );
        assert_eq!(hint(Some("loud"), None), Some(LevelFilter::INFO), "unreadable: info");
        assert_eq!(
            hint(None, Some("appflow_retry_runtime=debug")),
            Some(LevelFilter::DEBUG)
        );
        assert_eq!(hint(None, Some("[[[")), Some(LevelFilter::INFO), "unreadable: info");
    }
}
