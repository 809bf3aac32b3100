//! The ports: what the handlers need from AWS, as small traits. The AWS SDK
//! adapters (crate `appflow-retry-aws`) implement them for Lambda; in-memory
//! fakes implement them for the handlers' unit tests.

use std::future::Future;

use appflow_retry_policy::{RunRecord, TriggerType};
use chrono::{DateTime, Utc};

/// A failed call to AWS, in the terms the handlers act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Throttled, still after the SDK's own retries.
    #[error("throttled: {0}")]
    Throttled(String),
    /// A 5xx, a time-out or a connection failure, still after retries.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The resource does not exist (a deleted flow: HTTP 404).
    #[error("not found: {0}")]
    NotFound(String),
    /// Anything else: access denied, validation, an unexpected reply.
    #[error("{0}")]
    Failed(String),
}

/// SSM Parameter Store, read-only.
pub trait ParameterStore: Send + Sync {
    /// The values of `names`, in their order; None for one that does not
    /// exist. One request per [`NAMES_PER_READ`] names (GetParameters): the
    /// account's 40 reads a second are shared by every flow in an outage.
    fn get_many(&self, names: &[String]) -> impl Future<Output = Result<Vec<Option<String>>, PortError>> + Send;
}

/// The most names one GetParameters call takes (AWS's limit).
pub const NAMES_PER_READ: usize = 10;

/// One page of DescribeFlowExecutionRecords.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordsPage {
    /// The page's records, in the order AWS sent them (AWS documents none).
    pub records: Vec<RunRecord>,
    /// The token of the next page; None on the last page.
    pub next_token: Option<String>,
}

/// What DescribeFlow says about a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInfo {
    /// `Active`, `Suspended`, `Draft`, ...
    pub status: String,
    /// `OnDemand`, `Scheduled`, `Event`.
    pub trigger_type: String,
    /// After how many consecutive failed runs AppFlow deactivates the flow:
    /// `triggerProperties.Scheduled.flowErrorDeactivationThreshold` for a
    /// scheduled flow, 1 for an event flow (deactivated on failure), None
    /// for an on-demand flow or when DescribeFlow does not say.
    pub deactivation_threshold: Option<u32>,
}

impl FlowInfo {
    /// The flow's trigger type.
    pub fn trigger(&self) -> TriggerType {
        TriggerType::parse(&self.trigger_type)
    }
}

/// One flow as ListFlows lists it: the cheap status the reconciliation
/// sweep reads before it reads any run history (docs/design.md §5.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSummary {
    /// The flow's name.
    pub name: String,
    /// `Active`, `Suspended`, `Draft`, ...
    pub status: String,
    /// `OnDemand`, `Scheduled`, `Event`.
    pub trigger_type: String,
    /// `lastRunExecutionDetails.mostRecentExecutionStatus` (`Error`, ...); None before a first run.
    pub last_run_status: Option<String>,
    /// `lastRunExecutionDetails.mostRecentExecutionTime`.
    pub last_run_time: Option<DateTime<Utc>>,
}

impl FlowSummary {
    /// The flow's trigger type.
    pub fn trigger(&self) -> TriggerType {
        TriggerType::parse(&self.trigger_type)
    }
}

/// One page of ListFlows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowsPage {
    /// The page's flows.
    pub flows: Vec<FlowSummary>,
    /// The token of the next page; None on the last page.
    pub next_token: Option<String>,
}

/// The flow statuses DescribeFlow may report for a scheduled or event flow
/// that AppFlow deactivated: `Suspended` is StopFlow's documented effect;
/// AWS documents `flowStatusMessage` for a flow "suspended or in an error
/// state" but not which of the two an automatic deactivation leaves, so both
/// are taken (the re-activation also needs the failed runs in the history).
pub const DEACTIVATED_STATUSES: [&str; 2] = ["Suspended", "Errored"];

/// Amazon AppFlow.
pub trait AppFlow: Send + Sync {
    /// One page of the account's flows (ListFlows, at most 100).
    fn list_flows(&self, next_token: Option<String>) -> impl Future<Output = Result<FlowsPage, PortError>> + Send;

    /// One page of the flow's run records (at most 100);
    /// [`PortError::NotFound`] when the flow does not exist.
    fn execution_records(
        &self,
        flow: &str,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<RecordsPage, PortError>> + Send;

    /// The flow; None when it does not exist.
    fn describe_flow(&self, flow: &str) -> impl Future<Output = Result<Option<FlowInfo>, PortError>> + Send;

    /// Starts a run; the new execution id (None when AWS returns none).
    fn start_flow(
        &self,
        flow: &str,
        client_token: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
}

/// What StartExecution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new execution was started.
    Started {
        /// The new execution's ARN.
        execution_arn: String,
    },
    /// An execution of this name exists: the event was handled already.
    AlreadyExists,
}

/// The retry state machine (Step Functions).
pub trait StateMachine: Send + Sync {
    /// Starts an execution named `name` (docs/design.md §5.4) with `input`, the state machine
    /// input JSON; an existing name is [`StartOutcome::AlreadyExists`], not an error.
    fn start_execution(&self, name: &str, input: &str) -> impl Future<Output = Result<StartOutcome, PortError>> + Send;

    /// Whether an execution of this name exists (DescribeExecution; its
    /// "does not exist" answer is `false`, any other failure an error).
    fn execution_exists(&self, name: &str) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// The input of the execution of this name (DescribeExecution's
    /// `input`): how the recovery rules learn what the service decided for
    /// a failure (docs/design.md §4, recovery rules). None when no
    /// execution of that name exists (or it has no input).
    fn execution_input(&self, name: &str) -> impl Future<Output = Result<Option<String>, PortError>> + Send;

    /// One page of the running executions (ListExecutions, status RUNNING,
    /// up to 1,000 a page): the sweep leaves a flow whose decision is under
    /// way unread (docs/design.md §5.9).
    fn running_executions(
        &self,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<RunningPage, PortError>> + Send;
}

/// A running execution: its name and when it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningExecution {
    /// The execution's name (docs/design.md §5.4).
    pub name: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

/// One page of running executions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunningPage {
    /// The executions of the page.
    pub executions: Vec<RunningExecution>,
    /// The next page's token; None on the last page.
    pub next_token: Option<String>,
}

/// Step Functions' callback API, for the Task that waits for a task token:
/// the restart queue's (docs/design.md §5.12). A task no longer waiting
/// (its execution stopped or timed out, or the token already answered:
/// `TaskTimedOut`, `InvalidToken`, `TaskDoesNotExist`) is
/// [`PortError::NotFound`].
pub trait TaskTokens: Send + Sync {
    /// DescribeExecution of the execution named `name`: when it started
    /// and whether it still runs; None when there is none. The restart
    /// takes its start time from here, not from the message (which a sender
    /// could write), as a direct invocation took it from `$$.Execution.StartTime`.
    fn execution(&self, name: &str) -> impl Future<Output = Result<Option<ExecutionState>, PortError>> + Send;

    /// SendTaskHeartbeat: Ok while the execution waits for `token`.
    fn heartbeat(&self, token: &str) -> impl Future<Output = Result<(), PortError>> + Send;

    /// SendTaskSuccess: the Task's result, `output` (JSON).
    fn succeed(&self, token: &str, output: &str) -> impl Future<Output = Result<(), PortError>> + Send;

    /// SendTaskFailure: the Task fails with `error` (the name its Retry and
    /// Catch match) and `cause`.
    fn fail(&self, token: &str, error: &str, cause: &str) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// An execution as DescribeExecution reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionState {
    /// `startDate`.
    pub started_at: DateTime<Utc>,
    /// `status` is RUNNING.
    pub running: bool,
}

/// The time decisions are made at.
pub trait Clock: Send + Sync {
    /// The current time, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

// Shared references serve as ports too, so tests keep the fakes they hand out.
impl<T: ParameterStore> ParameterStore for &T {
    fn get_many(&self, names: &[String]) -> impl Future<Output = Result<Vec<Option<String>>, PortError>> + Send {
        (**self).get_many(names)
    }
}

impl<T: AppFlow> AppFlow for &T {
    fn list_flows(&self, next_token: Option<String>) -> impl Future<Output = Result<FlowsPage, PortError>> + Send {
        (**self).list_flows(next_token)
    }

    fn execution_records(
        &self,
        flow: &str,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<RecordsPage, PortError>> + Send {
        (**self).execution_records(flow, next_token)
    }

    fn describe_flow(&self, flow: &str) -> impl Future<Output = Result<Option<FlowInfo>, PortError>> + Send {
        (**self).describe_flow(flow)
    }

    fn start_flow(
        &self,
        flow: &str,
        client_token: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send {
        (**self).start_flow(flow, client_token)
    }
}

impl<T: StateMachine> StateMachine for &T {
    fn start_execution(&self, name: &str, input: &str) -> impl Future<Output = Result<StartOutcome, PortError>> + Send {
        (**self).start_execution(name, input)
    }

    fn execution_exists(&self, name: &str) -> impl Future<Output = Result<bool, PortError>> + Send {
        (**self).execution_exists(name)
    }

    fn execution_input(&self, name: &str) -> impl Future<Output = Result<Option<String>, PortError>> + Send {
        (**self).execution_input(name)
    }

    fn running_executions(
        &self,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<RunningPage, PortError>> + Send {
        (**self).running_executions(next_token)
    }
}

impl<T: Clock> Clock for &T {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}
