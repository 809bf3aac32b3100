//! AWS SDK adapters for the appflow-retry ports: SSM Parameter Store,
//! Amazon AppFlow and AWS Step Functions; SQS and Lambda for redrive.
//!
//! Endpoints come from the SDK configuration, so the standard
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables point the
//! Lambdas at local emulators. AppFlow throttles often: its client retries
//! more (with jittered exponential backoff) than the SDK's default.
//!
//! Each adapter is named for the AWS service and the port it implements:
//! [`SsmParameterStore`] (`ParameterStore`), [`AwsAppFlow`] (`AppFlow`),
//! [`SfnStateMachine`] (`StateMachine` and `Executions`), [`SqsQueue`]
//! (`Queue`) and [`LambdaInvoker`] (`Invoker`). [`AppFlowSdkRetry`] is the
//! AppFlow SDK client's own retry and timeout settings, not a retry policy.

#![warn(missing_docs)]

pub mod permissions;

use std::time::Duration;

use appflow_retry_policy::appflow::epoch_seconds;
use appflow_retry_policy::{RunRecord, RunStatus};
use appflow_retry_runtime::operate::{ExecutionDetail, ExecutionSummary, Executions, ExecutionsPage, RunState};
use appflow_retry_runtime::ports::{
    AppFlow, ExecutionState, FlowInfo, FlowSummary, FlowsPage, NAMES_PER_READ, ParameterStore, PortError, RecordsPage,
    RunningExecution, RunningPage, StartOutcome, StateMachine, TaskTokens,
};
use appflow_retry_runtime::redrive::{Invoker, Queue, QueueMessage};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_appflow::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// DescribeFlowExecutionRecords page size (the API's maximum).
pub const RECORDS_PAGE_SIZE: i32 = 100;
/// ListFlows page size (the API's maximum).
pub const FLOWS_PAGE_SIZE: i32 = 100;

/// Error codes AWS services use for throttling.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
];

/// Maps an SDK error to what the handlers act on.
fn port_error<E>(err: SdkError<E>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::Unavailable(text)
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            if status == 429 || THROTTLING_CODES.contains(&code) {
                PortError::Throttled(text)
            } else if status == 402 || code == "ServiceQuotaExceededException" {
                // AppFlow's quota on concurrent runs: it clears as runs end.
                PortError::Throttled(text)
            } else if status >= 500 || code == "ConflictException" {
                // A conflict is a change or a run in progress on the flow: it
                // passes, and the restart's re-checks decide afterwards.
                PortError::Unavailable(text)
            } else if status == 404 || code == "ResourceNotFoundException" {
                PortError::NotFound(text)
            } else {
                PortError::Failed(text)
            }
        }
        _ => PortError::Failed(text),
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<chrono::DateTime<chrono::Utc>> {
    t.and_then(|t| epoch_seconds(t.as_secs_f64()))
}

/// How hard the AppFlow client tries before the handler sees an error.
#[derive(Debug, Clone)]
pub struct AppFlowSdkRetry {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff's upper bound (full jitter).
    pub initial_backoff: Duration,
    /// The cap on any one backoff.
    pub max_backoff: Duration,
    /// Per attempt; a slow reply past this is retried.
    pub attempt_timeout: Duration,
}

impl Default for AppFlowSdkRetry {
    /// 8 attempts with full-jitter backoff from 1 s, capped at 20 s: about
    /// a minute of throttling is ridden out inside one invocation.
    fn default() -> Self {
        AppFlowSdkRetry {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

/// SSM Parameter Store.
#[derive(Debug, Clone)]
pub struct SsmParameterStore {
    client: aws_sdk_ssm::Client,
}

/// SSM's retries: the account's 40 reads a second are shared by every
/// function and every flow, so a 1,000-flow outage meets throttling. The
/// adaptive mode slows the client down when throttled (a client-side rate
/// limit), and 8 attempts with full-jitter backoff from 1 s, capped at 20 s
/// (about 40 s of waiting on average, well inside the functions' 120 s
/// default timeout), ride out a burst rather than park the failure.
pub fn ssm_retry_config() -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_secs(1))
        .with_max_backoff(Duration::from_secs(20))
}

impl SsmParameterStore {
    /// An adapter over a client built from `config`, retrying as
    /// [`ssm_retry_config`] says.
    pub fn new(config: &SdkConfig) -> Self {
        Self::with_retry(config, ssm_retry_config())
    }

    /// An adapter over a client built from `config`, retrying as `retry` says.
    pub fn with_retry(config: &SdkConfig, retry: RetryConfig) -> Self {
        let conf = aws_sdk_ssm::config::Builder::from(config).retry_config(retry).build();
        SsmParameterStore {
            client: aws_sdk_ssm::Client::from_conf(conf),
        }
    }
}

impl ParameterStore for SsmParameterStore {
    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<String>>, PortError> {
        let mut found = std::collections::HashMap::new();
        for chunk in names.chunks(NAMES_PER_READ) {
            let out = self
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(port_error)?;
            // A missing name is in `invalid_parameters`, and so not found here.
            for p in out.parameters.unwrap_or_default() {
                if let (Some(name), Some(value)) = (p.name, p.value) {
                    found.insert(name, value);
                }
            }
        }
        Ok(names.iter().map(|n| found.get(n).cloned()).collect())
    }
}

/// Amazon AppFlow.
#[derive(Debug, Clone)]
pub struct AwsAppFlow {
    client: aws_sdk_appflow::Client,
}

impl AwsAppFlow {
    /// An adapter over a client built from `config`, retrying as `retry` says.
    pub fn new(config: &SdkConfig, retry: &AppFlowSdkRetry) -> Self {
        let conf = aws_sdk_appflow::config::Builder::from(config)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(retry.max_attempts)
                    .with_initial_backoff(retry.initial_backoff)
                    .with_max_backoff(retry.max_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(retry.attempt_timeout)
                    .build(),
            )
            .build();
        AwsAppFlow {
            client: aws_sdk_appflow::Client::from_conf(conf),
        }
    }
}

impl AppFlow for AwsAppFlow {
    async fn list_flows(&self, next_token: Option<String>) -> Result<FlowsPage, PortError> {
        let out = self
            .client
            .list_flows()
            .max_results(FLOWS_PAGE_SIZE)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(port_error)?;
        let flows = out
            .flows()
            .iter()
            .filter_map(|f| {
                let last = f.last_run_execution_details();
                Some(FlowSummary {
                    name: f.flow_name()?.to_owned(),
                    status: f.flow_status().map_or("", |s| s.as_str()).to_owned(),
                    trigger_type: f.trigger_type().map_or("", |t| t.as_str()).to_owned(),
                    last_run_status: last
                        .and_then(|d| d.most_recent_execution_status())
                        .map(|s| s.as_str().to_owned()),
                    last_run_time: time(last.and_then(|d| d.most_recent_execution_time())),
                })
            })
            .collect();
        Ok(FlowsPage {
            flows,
            next_token: out.next_token().filter(|t| !t.is_empty()).map(str::to_owned),
        })
    }

    async fn execution_records(&self, flow: &str, next_token: Option<String>) -> Result<RecordsPage, PortError> {
        let out = self
            .client
            .describe_flow_execution_records()
            .flow_name(flow)
            .max_results(RECORDS_PAGE_SIZE)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(port_error)?;
        let records = out
            .flow_executions()
            .iter()
            .filter_map(|r| {
                Some(RunRecord {
                    // A record without an id cannot be told apart from others; AWS always sends one.
                    execution_id: r.execution_id()?.to_owned(),
                    status: RunStatus::parse(r.execution_status().map_or("", |s| s.as_str())),
                    started_at: time(r.started_at()),
                    last_updated_at: time(r.last_updated_at()),
                    message: r
                        .execution_result()
                        .and_then(|x| x.error_info())
                        .and_then(|e| e.execution_message())
                        .map(str::to_owned),
                })
            })
            .collect();
        Ok(RecordsPage {
            records,
            next_token: out.next_token().filter(|t| !t.is_empty()).map(str::to_owned),
        })
    }

    async fn describe_flow(&self, flow: &str) -> Result<Option<FlowInfo>, PortError> {
        match self.client.describe_flow().flow_name(flow).send().await {
            Ok(out) => Ok(Some(FlowInfo {
                status: out.flow_status().map_or("", |s| s.as_str()).to_owned(),
                trigger_type: out
                    .trigger_config()
                    .map_or("", |t| t.trigger_type().as_str())
                    .to_owned(),
                deactivation_threshold: deactivation_threshold(out.trigger_config()),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(port_error(e)),
        }
    }

    async fn start_flow(&self, flow: &str, client_token: &str) -> Result<Option<String>, PortError> {
        let out = self
            .client
            .start_flow()
            .flow_name(flow)
            .client_token(client_token)
            .send()
            .await
            .map_err(port_error)?;
        Ok(out.execution_id().map(str::to_owned))
    }
}

/// A flow's deactivation threshold (ports.rs `FlowInfo`): the scheduled
/// trigger's `flowErrorDeactivationThreshold`, 1 for an event flow.
fn deactivation_threshold(config: Option<&aws_sdk_appflow::types::TriggerConfig>) -> Option<u32> {
    use aws_sdk_appflow::types::TriggerType;
    let config = config?;
    match config.trigger_type() {
        TriggerType::Event => Some(1),
        TriggerType::Scheduled => config
            .trigger_properties()
            .and_then(|p| p.scheduled())
            .and_then(|s| s.flow_error_deactivation_threshold())
            .and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

/// The retry state machine.
#[derive(Debug, Clone)]
pub struct SfnStateMachine {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl SfnStateMachine {
    /// An adapter over a client built from `config`, for the state machine
    /// `state_machine_arn`.
    pub fn new(config: &SdkConfig, state_machine_arn: &str) -> Self {
        SfnStateMachine {
            client: aws_sdk_sfn::Client::new(config),
            state_machine_arn: state_machine_arn.to_owned(),
        }
    }
}

impl StateMachine for SfnStateMachine {
    async fn start_execution(&self, name: &str, input: &str) -> Result<StartOutcome, PortError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(out) => Ok(StartOutcome::Started {
                execution_arn: out.execution_arn,
            }),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_already_exists()) => {
                Ok(StartOutcome::AlreadyExists)
            }
            Err(e) => Err(port_error(e)),
        }
    }

    async fn execution_exists(&self, name: &str) -> Result<bool, PortError> {
        let arn = execution_arn(&self.state_machine_arn, name);
        match self.client.describe_execution().execution_arn(arn).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_does_not_exist()) => Ok(false),
            Err(e) => Err(port_error(e)),
        }
    }

    async fn execution_input(&self, name: &str) -> Result<Option<String>, PortError> {
        let arn = execution_arn(&self.state_machine_arn, name);
        match self.client.describe_execution().execution_arn(arn).send().await {
            Ok(out) => Ok(out.input().map(str::to_owned)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_does_not_exist()) => Ok(None),
            Err(e) => Err(port_error(e)),
        }
    }

    /// ListExecutions (`states:ListExecutions` on the state machine), status
    /// RUNNING, 1,000 a page: the operator's listing, for the sweep.
    async fn running_executions(&self, next_token: Option<String>) -> Result<RunningPage, PortError> {
        let page = self.list_executions(Some(RunState::Running), next_token, 1000).await?;
        Ok(RunningPage {
            executions: page
                .executions
                .into_iter()
                .map(|e| RunningExecution {
                    name: e.name,
                    started_at: e.start,
                })
                .collect(),
            next_token: page.next_token,
        })
    }
}

/// Step Functions' callback API for the restart queue's task tokens
/// (docs/design.md §5.12). IAM: `states:SendTaskHeartbeat`,
/// `states:SendTaskSuccess`, `states:SendTaskFailure` on the state machine
/// (crates/aws/src/permissions.rs).
#[derive(Debug, Clone)]
pub struct SfnTaskTokens {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl SfnTaskTokens {
    /// An adapter over a client built from `config`, for the executions of
    /// `state_machine_arn`.
    pub fn new(config: &SdkConfig, state_machine_arn: &str) -> Self {
        SfnTaskTokens {
            client: aws_sdk_sfn::Client::new(config),
            state_machine_arn: state_machine_arn.to_owned(),
        }
    }
}

/// The answers that say a task no longer waits for its token: the
/// execution stopped or timed out, or the token was answered already.
const TASK_GONE_CODES: &[&str] = &["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"];

fn task_error<E>(err: SdkError<E>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let gone = err
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| TASK_GONE_CODES.contains(&code));
    match port_error(err) {
        PortError::Failed(text) if gone => PortError::NotFound(text),
        other => other,
    }
}

impl TaskTokens for SfnTaskTokens {
    async fn execution(&self, name: &str) -> Result<Option<ExecutionState>, PortError> {
        let arn = execution_arn(&self.state_machine_arn, name);
        match self.client.describe_execution().execution_arn(arn).send().await {
            Ok(out) => Ok(Some(ExecutionState {
                started_at: sfn_time(&out.start_date),
                running: out.status == aws_sdk_sfn::types::ExecutionStatus::Running,
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_does_not_exist()) => Ok(None),
            Err(e) => Err(port_error(e)),
        }
    }

    async fn heartbeat(&self, token: &str) -> Result<(), PortError> {
        self.client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await
            .map(|_| ())
            .map_err(task_error)
    }

    async fn succeed(&self, token: &str, output: &str) -> Result<(), PortError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
            .map(|_| ())
            .map_err(task_error)
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(task_error)
    }
}

fn run_state(s: &aws_sdk_sfn::types::ExecutionStatus) -> RunState {
    use aws_sdk_sfn::types::ExecutionStatus as S;
    match s {
        S::Running => RunState::Running,
        S::Succeeded => RunState::Succeeded,
        S::TimedOut => RunState::TimedOut,
        S::Aborted => RunState::Aborted,
        S::PendingRedrive => RunState::PendingRedrive,
        // FAILED, and any status newer than this SDK: not running, not cancelled.
        _ => RunState::Failed,
    }
}

fn sfn_time(t: &aws_smithy_types::DateTime) -> chrono::DateTime<chrono::Utc> {
    time(Some(t)).unwrap_or_default()
}

/// `appflow-retry status` and `cancel` (docs/design.md §5.10).
impl Executions for SfnStateMachine {
    fn arn_of(&self, name: &str) -> String {
        execution_arn(&self.state_machine_arn, name)
    }

    async fn list_executions(
        &self,
        status: Option<RunState>,
        next_token: Option<String>,
        max: usize,
    ) -> Result<ExecutionsPage, PortError> {
        use aws_sdk_sfn::types::ExecutionStatus as S;
        let filter = status.map(|s| match s {
            RunState::Running => S::Running,
            RunState::Succeeded => S::Succeeded,
            RunState::Failed => S::Failed,
            RunState::TimedOut => S::TimedOut,
            RunState::Aborted => S::Aborted,
            RunState::PendingRedrive => S::PendingRedrive,
        });
        let out = self
            .client
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .set_status_filter(filter)
            .set_next_token(next_token)
            .max_results(i32::try_from(max.clamp(1, 1000)).unwrap_or(1000))
            .send()
            .await
            .map_err(port_error)?;
        Ok(ExecutionsPage {
            executions: out
                .executions
                .iter()
                .map(|e| ExecutionSummary {
                    arn: e.execution_arn.clone(),
                    name: e.name.clone(),
                    status: run_state(&e.status),
                    start: sfn_time(&e.start_date),
                })
                .collect(),
            next_token: out.next_token.filter(|t| !t.is_empty()),
        })
    }

    async fn describe_execution(&self, arn: &str) -> Result<ExecutionDetail, PortError> {
        match self.client.describe_execution().execution_arn(arn).send().await {
            Ok(d) => Ok(ExecutionDetail {
                arn: d.execution_arn,
                name: d.name.unwrap_or_default(),
                status: run_state(&d.status),
                start: sfn_time(&d.start_date),
                stop: time(d.stop_date.as_ref()),
                input: d.input,
                error: d.error,
                cause: d.cause,
            }),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_does_not_exist()) => {
                Err(PortError::NotFound(format!("no execution {arn}")))
            }
            Err(e) => Err(port_error(e)),
        }
    }

    async fn states_entered_newest_first(&self, arn: &str, max: usize) -> Result<Vec<String>, PortError> {
        let out = self
            .client
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(i32::try_from(max.clamp(1, 1000)).unwrap_or(1000))
            .send()
            .await
            .map_err(port_error)?;
        // Newest first by event id, whatever order the service answered in
        // (moto ignores reverseOrder and maxResults).
        let mut events: Vec<_> = out.events.iter().collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.id));
        Ok(events
            .into_iter()
            .take(max)
            .filter_map(|e| e.state_entered_event_details().map(|d| d.name.clone()))
            .collect())
    }

    async fn stop_execution(&self, arn: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.client
            .stop_execution()
            .execution_arn(arn)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(port_error)
    }
}

/// The ARN of the execution `name` of a state machine:
/// `arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// SQS, for redrive.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    /// Long polling: SQS then asks all its servers, so an empty answer
    /// means an empty queue (short polling samples a few).
    wait_time_seconds: i32,
}

impl SqsQueue {
    /// An adapter over a client built from `config`, long polling for 1 s.
    pub fn new(config: &SdkConfig) -> Self {
        SqsQueue {
            client: aws_sdk_sqs::Client::new(config),
            wait_time_seconds: 1,
        }
    }
}

impl Queue for SqsQueue {
    async fn receive(
        &self,
        queue_url: &str,
        max: usize,
        visibility_timeout_seconds: u32,
    ) -> Result<Vec<QueueMessage>, PortError> {
        let out = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(10))
            .visibility_timeout(i32::try_from(visibility_timeout_seconds).unwrap_or(i32::MAX))
            .wait_time_seconds(self.wait_time_seconds)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(port_error)?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let mut attributes: Vec<(String, String)> = m
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), v.string_value()?.to_owned())))
                    .collect();
                attributes.sort();
                Some(QueueMessage {
                    // SQS always sends both; a message without them cannot be deleted.
                    message_id: m.message_id()?.to_owned(),
                    receipt_handle: m.receipt_handle()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    attributes,
                })
            })
            .collect())
    }

    async fn delete(&self, queue_url: &str, receipt_handle: &str) -> Result<(), PortError> {
        self.client
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn release(&self, queue_url: &str, receipt_handle: &str) -> Result<(), PortError> {
        self.client
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// GetQueueAttributes (`sqs:GetQueueAttributes`): visible plus in-flight
    /// messages. A count SQS leaves out or garbles is an error, not a zero.
    async fn approximate_count(&self, queue_url: &str) -> Result<u64, PortError> {
        use aws_sdk_sqs::types::QueueAttributeName as Name;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(Name::ApproximateNumberOfMessages)
            .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(port_error)?;
        let attributes = out.attributes();
        let mut total = 0u64;
        for name in [
            Name::ApproximateNumberOfMessages,
            Name::ApproximateNumberOfMessagesNotVisible,
        ] {
            let value = attributes.and_then(|a| a.get(&name));
            let n = value.and_then(|v| v.trim().parse::<u64>().ok()).ok_or_else(|| {
                PortError::Failed(format!(
                    "GetQueueAttributes: `{}` is {}",
                    name.as_str(),
                    value.map_or_else(|| "missing".to_owned(), |v| format!("not a count: {v:?}"))
                ))
            })?;
            total = total.saturating_add(n);
        }
        Ok(total)
    }
}

/// Lambda, for redrive: asynchronous invocations.
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    /// An adapter over a client built from `config`.
    pub fn new(config: &SdkConfig) -> Self {
        LambdaInvoker {
            client: aws_sdk_lambda::Client::new(config),
        }
    }
}

/// The status Lambda answers an accepted asynchronous invocation with.
const ACCEPTED: i32 = 202;

impl Invoker for LambdaInvoker {
    async fn invoke_async(&self, function: &str, payload: &str) -> Result<(), PortError> {
        let out = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload.as_bytes()))
            .send()
            .await
            .map_err(port_error)?;
        if out.status_code() == ACCEPTED {
            Ok(())
        } else {
            Err(PortError::Failed(format!(
                "Invoke answered HTTP {} where an accepted asynchronous invocation answers {ACCEPTED}",
                out.status_code()
            )))
        }
    }
}

/// The SDK configuration of the `appflow-retry` command: credentials and
/// settings from the environment and profile as the AWS CLI reads them;
/// `region` and `endpoint_url` override theirs (an emulator in tests).
pub async fn sdk_config_with(region: Option<&str>, endpoint_url: Option<&str>, profile: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    if let Some(endpoint) = endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// The region an ARN names (`arn:aws:states:eu-west-1:…` → `eu-west-1`).
pub fn region_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.nth(2).filter(|r| !r.is_empty())
}

/// The region an SQS queue URL names (`https://sqs.eu-west-1.amazonaws.com/…`).
pub fn region_of_queue_url(url: &str) -> Option<&str> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let mut labels = host.split('.');
    (labels.next() == Some("sqs")).then_some(())?;
    let aws = host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
    labels.next().filter(|r| aws && !r.is_empty())
}

/// The SDK configuration the Lambdas run with: region, credentials and
/// endpoints from the environment (`AWS_ENDPOINT_URL*` included).
pub async fn sdk_config_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An SDK configuration for local emulators: one endpoint for every
/// service, fixed test credentials, us-east-1.
pub async fn sdk_config_for_endpoint(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "local",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

#[cfg(test)]
mod region_tests {
    use super::*;

    #[test]
    fn regions_come_from_arns_and_queue_urls() {
        assert_eq!(
            region_of_arn("arn:aws:states:eu-west-1:123456789012:stateMachine:r"),
            Some("eu-west-1")
        );
        assert_eq!(region_of_arn("arn:aws:iam::123456789012:role/r"), None);
        assert_eq!(region_of_arn("not-an-arn"), None);
        assert_eq!(
            region_of_queue_url("https://sqs.us-east-2.amazonaws.com/123456789012/q"),
            Some("us-east-2")
        );
        assert_eq!(region_of_queue_url("http://127.0.0.1:5000/123456789012/q"), None);
    }
}
