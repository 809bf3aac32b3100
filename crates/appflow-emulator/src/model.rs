//! The scripted world: flows and their runs, injected faults, the calls
//! recorded, and the clock the runs are timed by.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::TriggerType;

/// The AppFlow operations the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// `POST /start-flow`.
    StartFlow,
    /// `POST /describe-flow`.
    DescribeFlow,
    /// `POST /describe-flow-execution-records`.
    DescribeFlowExecutionRecords,
    /// `POST /list-flows`.
    ListFlows,
}

/// What a run started by StartFlow does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunOutcome {
    /// Ends `Successful`.
    Succeed,
    /// Fails with this message (`executionResult.errorInfo.executionMessage`).
    Fail(String),
}

/// One run in a flow's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// AppFlow's `executionId`.
    pub execution_id: String,
    /// `InProgress`, `Successful`, `Error`, `CancelStarted`, `Canceled`.
    pub status: String,
    /// `startedAt`; None leaves the field out of the record.
    pub started_at: Option<DateTime<Utc>>,
    /// `lastUpdatedAt`: when the run ended, for a run that has.
    pub last_updated_at: Option<DateTime<Utc>>,
    /// `executionResult.errorInfo.executionMessage` of a failed run.
    pub message: Option<String>,
}

/// A scripted flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    /// The flow's name (`flowName`).
    pub name: String,
    /// `triggerConfig.triggerType`.
    pub trigger: TriggerType,
    /// `Active`, `Deprecated`, `Deleted`, `Draft`, `Errored`, `Suspended`.
    pub status: String,
    /// Outcomes of the runs StartFlow will start, in order; when empty, runs succeed.
    pub script: VecDeque<RunOutcome>,
    /// The runs so far, in the order they started.
    pub history: Vec<Run>,
    /// Scheduled flows: `flowErrorDeactivationThreshold` (None: never
    /// deactivated). Event flows are deactivated on every failure.
    #[serde(default)]
    pub deactivation_threshold: Option<u32>,
    /// Failed runs in a row since the flow was last activated or succeeded.
    #[serde(default)]
    pub consecutive_failures: u32,
}

impl Flow {
    /// An active on-demand flow with no history whose runs succeed.
    pub fn on_demand(name: &str) -> Self {
        Flow {
            name: name.to_owned(),
            trigger: TriggerType::OnDemand,
            status: "Active".into(),
            script: VecDeque::new(),
            history: Vec::new(),
            deactivation_threshold: None,
            consecutive_failures: 0,
        }
    }

    /// A scheduled flow that AppFlow deactivates after `threshold` failed runs in a row.
    pub fn deactivate_after(mut self, threshold: u32) -> Self {
        self.deactivation_threshold = Some(threshold);
        self
    }

    /// After how many failed runs in a row AppFlow deactivates the flow.
    pub fn effective_threshold(&self) -> Option<u32> {
        match self.trigger {
            TriggerType::OnDemand | TriggerType::Other(_) => None,
            TriggerType::Event => Some(1),
            TriggerType::Scheduled => self.deactivation_threshold,
        }
    }

    /// Counts a finished run; true when the flow is deactivated by it.
    pub(crate) fn count_run(&mut self, failed: bool) -> bool {
        if !failed {
            self.consecutive_failures = 0;
            return false;
        }
        self.consecutive_failures += 1;
        match self.effective_threshold() {
            Some(n) if self.status == "Active" && self.consecutive_failures >= n.max(1) => {
                self.status = "Suspended".into();
                self.consecutive_failures = 0;
                true
            }
            _ => false,
        }
    }

    /// The same flow with trigger type `trigger`.
    pub fn trigger(mut self, trigger: TriggerType) -> Self {
        self.trigger = trigger;
        self
    }

    /// The same flow with status `status`.
    pub fn status(mut self, status: &str) -> Self {
        self.status = status.to_owned();
        self
    }

    /// The outcomes of the next runs StartFlow starts.
    pub fn then(mut self, outcomes: impl IntoIterator<Item = RunOutcome>) -> Self {
        self.script.extend(outcomes);
        self
    }
}

/// An injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// HTTP 429 with `x-amzn-ErrorType: ThrottlingException`.
    Throttle,
    /// HTTP 500 with `InternalServerException`.
    ServerError,
    /// The reply is delayed by this many milliseconds, then served normally.
    SlowMs(u64),
    /// HTTP 402 with `ServiceQuotaExceededException` (too many runs at once).
    QuotaExceeded,
    /// HTTP 409 with `ConflictException`.
    Conflict,
    /// The request is carried out, then its reply is lost: the caller sees
    /// an HTTP 500 although (for StartFlow) the run started.
    LoseReply,
}

/// One request the emulator answered, for assertions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    /// The operation called.
    pub operation: Operation,
    /// The request's `flowName`, if it had one.
    pub flow: Option<String>,
    /// StartFlow's `clientToken`, if sent.
    pub client_token: Option<String>,
    /// The HTTP status sent back.
    pub status: u16,
}

/// Order in which DescribeFlowExecutionRecords lists runs: AWS documents
/// none, so the default shuffles (deterministically) to catch code that
/// assumes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOrder {
    /// The newest run first.
    NewestFirst,
    /// The oldest run first.
    OldestFirst,
    /// A deterministic shuffle seeded with this number (the default: 7).
    Shuffled(u64),
}

/// The clock runs start by: the wall clock, or a fixed time tests move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The wall clock.
    System,
    /// This time, until the test sets another.
    Fixed(DateTime<Utc>),
}
