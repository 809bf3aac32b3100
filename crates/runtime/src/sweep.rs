//! The reconciliation sweep (docs/design.md §5.9): AppFlow delivers its
//! EventBridge events best effort, so on a schedule the sweep looks for
//! failed on-demand runs that have no state machine execution yet and hands
//! each to the on-failure path ([`OnFailure::handle_failure_in`]), which
//! decides and starts it exactly as for an event, from the flow's history
//! the sweep read once for all its failures. The execution name is derived from
//! the failed run, so a late event and the sweep start one execution between
//! them, whoever comes first.
//!
//! The cheap pass is ListFlows alone: its `FlowDefinition` carries the
//! trigger type and `lastRunExecutionDetails`, so only on-demand flows whose
//! most recent run is `Error`, within their policy's longest window, get
//! their run history read.

use std::time::Instant;

use appflow_retry_policy::appflow::{MAX_NAME_CHARS, check_name};
use std::collections::HashMap;

use appflow_retry_policy::naming::{execution_name, execution_name_prefix};
use appflow_retry_policy::{
    EventError, ExecutionStart, FailureEvent, Policy, RunRecord, RunStatus, SplitMix64, TriggerType, seed_for,
    truncate_message,
};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};
use serde::Serialize;

use crate::history::{DEFAULT_MAX_PAGES, HistoryError, read_page};
use crate::on_failure::{OnFailure, Origin};
use crate::ports::{AppFlow, Clock, FlowSummary, ParameterStore, PortError, StateMachine};
use crate::redrive::Queue;
use crate::telemetry;

/// Which flows the service covers (`covered_flows`): names, or prefixes
/// ending in `*`; empty covers every flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    entries: Vec<String>,
}

/// An entry of a covered-flows list with a `*` that does not end a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("covered flow {0:?}: '*' may only end a prefix (\"sap-*\")")]
pub struct CoverageError(pub String);

impl Coverage {
    /// Every flow.
    pub fn all() -> Self {
        Coverage::default()
    }

    /// Reads a comma-separated list (`APPFLOW_RETRY_COVERED_FLOWS`; flow
    /// names hold no commas). Blank entries are ignored; a `*` anywhere but
    /// at the end is an error naming the entry.
    pub fn parse(list: &str) -> Result<Self, CoverageError> {
        let mut entries = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry.trim_end_matches('*').contains('*') || entry.ends_with("**") {
                return Err(CoverageError(entry.to_owned()));
            }
            entries.push(entry.to_owned());
        }
        Ok(Coverage { entries })
    }

    /// Whether the sweep covers `flow`: the list is empty (every flow), names it, or has a
    /// prefix entry (`sap-*`) it starts with.
    pub fn covers(&self, flow: &str) -> bool {
        self.entries.is_empty()
            || self.entries.iter().any(|e| match e.strip_suffix('*') {
                Some(prefix) => flow.starts_with(prefix),
                None => e == flow,
            })
    }
}

/// How much one sweep does at most, how many flows it reads at once, and
/// how long it leaves a failure to the event path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepLimits {
    /// ListFlows pages (100 flows each): a guard against a listing that
    /// never ends, not a budget (AppFlow's default quota is 1,000 flows).
    pub max_list_pages: usize,
    /// Flows whose run history is read in one sweep (no bound by default:
    /// the invocation's deadline is the bound, and what it leaves is the
    /// next sweep's).
    pub max_flows: usize,
    /// DescribeFlowExecutionRecords pages per flow.
    pub max_history_pages: usize,
    /// Candidate flows read at once.
    pub concurrency: usize,
    /// How long a failure is the event path's alone: a failure (or a flow
    /// whose last run is) newer than this is not decided by the sweep.
    pub grace: TimeDelta,
    /// The grace while the intake queue holds events: they are decisions on
    /// their way (docs/design.md §5.11), as late as the backlog.
    pub backlog_grace: TimeDelta,
}

/// [`SweepLimits::max_list_pages`] by default: 100,000 flows.
pub const MAX_LIST_PAGES: usize = 1_000;
/// [`SweepLimits::concurrency`] by default.
pub const SWEEP_CONCURRENCY: usize = 4;
/// [`SweepLimits::grace`] by default, in minutes.
pub const SWEEP_GRACE_MINUTES: i64 = 10;
/// [`SweepLimits::backlog_grace`], in minutes: the outage benchmark's
/// oldest intake wait at 5,000 flows is 91 minutes.
pub const SWEEP_BACKLOG_GRACE_MINUTES: i64 = 120;

impl Default for SweepLimits {
    fn default() -> Self {
        SweepLimits {
            max_list_pages: MAX_LIST_PAGES,
            max_flows: usize::MAX,
            max_history_pages: DEFAULT_MAX_PAGES,
            concurrency: SWEEP_CONCURRENCY,
            grace: TimeDelta::minutes(SWEEP_GRACE_MINUTES),
            backlog_grace: TimeDelta::minutes(SWEEP_BACKLOG_GRACE_MINUTES),
        }
    }
}

/// What the intake queue holds when a sweep starts (ApproximateNumberOfMessages
/// and ...NotVisible, docs/design.md §5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeBacklog {
    /// Empty.
    Empty,
    /// This many events wait for (or are in) a decision.
    Waiting(u64),
    /// Not known: the queue's attributes could not be read, or no queue
    /// was named.
    Unknown,
}

impl IntakeBacklog {
    /// The intake queue's depth at `queue_url` (visible and in-flight
    /// messages); `Unknown` when it cannot be read, with a warning.
    pub async fn read<Q: Queue>(queue: &Q, queue_url: &str) -> Self {
        match queue.approximate_count(queue_url).await {
            Ok(0) => IntakeBacklog::Empty,
            Ok(n) => IntakeBacklog::Waiting(n),
            Err(e) => {
                tracing::warn!(error = %e, "the intake queue's depth cannot be read (sqs:GetQueueAttributes): the sweep keeps the short grace");
                IntakeBacklog::Unknown
            }
        }
    }
}

impl SweepLimits {
    /// The grace for a sweep that starts with `backlog`: the backlog grace
    /// while events wait, the grace otherwise. An unreadable queue gets the
    /// (short) grace: a sweep that decides first costs nothing twice (the
    /// event meets the execution the sweep started, §5.4), while a guessed
    /// backlog would hold every lost failure back for hours.
    pub fn grace_for(&self, backlog: IntakeBacklog) -> TimeDelta {
        match backlog {
            IntakeBacklog::Waiting(n) if n > 0 => self.backlog_grace,
            _ => self.grace,
        }
    }
}

/// A failure the sweep found without an execution, and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    /// The AppFlow flow's name.
    pub flow: String,
    /// The failed run's execution id, from its run record.
    pub execution_id: String,
    /// The execution name derived from (flow, execution id) (docs/design.md §5.4).
    pub execution_name: String,
    /// The decision's action (`retry`, `give_up`, `skip`).
    pub action: String,
    /// `started`, or `already_exists` when an event won the race.
    pub execution: ExecutionStart,
}

/// A run record the event path would refuse (docs/design.md §6.4): not
/// decided, reported.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    /// The flow's name.
    pub flow: String,
    /// The record's execution id, cut to [`MAX_NAME_CHARS`] characters.
    pub execution_id: String,
    /// The event field the record's value would fill (`detail.execution-id`).
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

/// A flow or a failure the sweep could not handle this time.
#[derive(Debug, Clone, Serialize)]
pub struct SweepProblem {
    /// The flow's name.
    pub flow: String,
    /// The failed run's execution id; None when the flow itself could not be handled (its
    /// policy or its history).
    pub execution_id: Option<String>,
    /// The error's stable name (`PolicyUnavailable`, `HistoryUnavailable`, ...).
    pub error_type: &'static str,
    /// The error's message.
    pub message: String,
}

/// What one sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepOutput {
    /// Flows ListFlows returned, and the pages it took.
    pub flows_listed: usize,
    /// The ListFlows pages read.
    pub list_pages: usize,
    /// ListFlows had more pages than `max_list_pages`.
    pub list_truncated: bool,
    /// Covered on-demand flows whose most recent run is `Error` (ListFlows alone).
    pub candidates: usize,
    /// Of those, the ones whose last run is older than their policy's window.
    pub outside_window: usize,
    /// The grace this sweep left to the event path, in seconds.
    pub grace_seconds: i64,
    /// Events in the intake queue when the sweep started (None: not read).
    pub intake_backlog: Option<u64>,
    /// Running executions ListExecutions gave (None: not listed, so every
    /// candidate was read).
    pub running_listed: Option<usize>,
    /// Candidates an earlier sweep of this (warm) instance read completely,
    /// with no newer run since: not read again (for up to an hour).
    pub already_read: usize,
    /// Candidates with a running execution that started at or after their
    /// last run: their decision or restart is under way, not read.
    pub in_progress: usize,
    /// Candidates whose last run, and failures, newer than the grace: the
    /// event path's (an older failure of such a flow is superseded by its
    /// newer run: rule 6); the next sweep looks again.
    pub within_grace: usize,
    /// Candidates whose run history was read.
    pub examined: usize,
    /// Candidates not examined (the flow bound or the deadline): the next sweep's.
    pub left_for_next_run: usize,
    /// Failures of the flow the deadline stopped in that were not looked at: the next sweep's.
    pub failures_left_for_next_run: usize,
    /// `max_flows` or `deadline` when a bound stopped the sweep.
    pub stopped_by: Option<&'static str>,
    /// Flows whose history was longer than `max_history_pages`: the failures
    /// in the pages read were still handled.
    pub histories_cut: usize,
    /// Failed runs inside their window that the sweep looked at.
    pub failures_seen: usize,
    /// Of those, the ones with an execution already (an event came).
    pub already_handled: usize,
    /// Run records the event path would refuse (an empty or over-long execution id, §6.4):
    /// logged and listed, never decided, and no `SweepIncomplete` (no later sweep can decide
    /// them either).
    pub refused: Vec<Refused>,
    /// The failures decided by this sweep, one per execution started (or found started).
    pub recovered: Vec<Recovered>,
    /// The flows and failures that could not be handled; non-empty ends in
    /// [`SweepError::Incomplete`].
    pub problems: Vec<SweepProblem>,
}

/// Why a sweep ended in an error (Lambda reports it, the errors alarm fires;
/// the next scheduled sweep tries again: nothing it did is undone).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// `ListFlowsUnavailable`: ListFlows could not be read after the SDK's retries.
    #[error("ListFlows cannot be read, so no flow was swept: {0}")]
    ListUnavailable(PortError),
    /// `SweepIncomplete`: some flow or failure could not be handled; the output so far,
    /// problems included.
    #[error("{} failed run(s) or flow(s) could not be handled (first: {} {}: {}); the next sweep tries again", .0.problems.len(), first(.0).0, first(.0).1, first(.0).2)]
    Incomplete(Box<SweepOutput>),
}

fn first(out: &SweepOutput) -> (&str, &str, &str) {
    out.problems
        .first()
        .map_or(("", "", ""), |p| (p.flow.as_str(), p.error_type, p.message.as_str()))
}

impl SweepError {
    /// The error's stable name (the Lambda error type).
    pub fn error_type(&self) -> &'static str {
        match self {
            SweepError::ListUnavailable(_) => "ListFlowsUnavailable",
            SweepError::Incomplete(_) => "SweepIncomplete",
        }
    }
}

/// The sweep: the on-failure handler (its ports and its deciding path) and
/// the sweep's own settings.
#[derive(Debug)]
pub struct Sweep<S, A, M, C> {
    /// The on-failure handler: the same policy load, rules, history read and StartExecution as
    /// an event.
    pub on_failure: OnFailure<S, A, M, C>,
    /// The flows the sweep covers (`APPFLOW_RETRY_COVERED_FLOWS`).
    pub coverage: Coverage,
    /// How much one sweep does at most.
    pub limits: SweepLimits,
    /// The flows this instance read completely, for the sweeps after it.
    memory: SweepMemory,
}

/// The flows a sweep read completely (every failure inside the window
/// decided or found handled, none left to the grace, the last run among the
/// records read), by name: their ListFlows last-run time and when they were
/// read. A later sweep on the same (warm) Lambda instance does not read such
/// a flow again while its last run is the same and the entry is younger than
/// [`MEMORY_TTL_MINUTES`] plus up to as much again, drawn from the flow's
/// name (so that flows read together are not all read again together): a
/// run history changes only by a newer run.
/// A cold instance starts empty and reads every candidate.
#[derive(Debug, Default)]
struct SweepMemory(std::sync::Mutex<HashMap<String, Remembered>>);

/// A flow read completely: its last run then, and when it was read.
#[derive(Debug, Clone, Copy)]
struct Remembered {
    last_run: DateTime<Utc>,
    read_at: DateTime<Utc>,
}

/// How long a flow read completely is not read again (while its last run
/// is the same): a bound on what an unforeseen change (a policy's window
/// widened, a record AppFlow showed late) can hide.
pub const MEMORY_TTL_MINUTES: i64 = 60;

impl SweepMemory {
    fn unchanged(&self, flow: &str, last_run: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        let Some(last_run) = last_run else { return false };
        let memory = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let spread = i64::try_from(seed_for(flow) % 60).unwrap_or(0) * MEMORY_TTL_MINUTES;
        let ttl = TimeDelta::minutes(MEMORY_TTL_MINUTES) + TimeDelta::seconds(spread);
        memory
            .get(flow)
            .is_some_and(|r| r.last_run == last_run && now - r.read_at < ttl)
    }

    fn remember(&self, flow: &str, last_run: DateTime<Utc>, now: DateTime<Utc>) {
        let mut memory = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        memory.insert(flow.to_owned(), Remembered { last_run, read_at: now });
    }

    fn forget(&self, flow: &str) {
        let mut memory = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        memory.remove(flow);
    }
}

impl<S, A, M, C> Sweep<S, A, M, C> {
    /// A sweep with nothing read yet.
    pub fn new(on_failure: OnFailure<S, A, M, C>, coverage: Coverage, limits: SweepLimits) -> Self {
        Sweep {
            on_failure,
            coverage,
            limits,
            memory: SweepMemory::default(),
        }
    }
}

/// A candidate: a flow whose most recent run failed.
struct Candidate {
    name: String,
    last_run_time: Option<DateTime<Utc>>,
}

fn is_candidate(f: &FlowSummary) -> bool {
    f.trigger() == TriggerType::OnDemand && f.last_run_status.as_deref() == Some("Error")
}

/// The event AppFlow would have sent for a failed run record, through the
/// event parser's check of its names ([`check_name`], docs/design.md §6.4):
/// a record whose flow name or execution id an event could not carry is
/// refused, naming the field.
pub fn checked_event_for(flow: &str, record: &RunRecord) -> Result<FailureEvent, EventError> {
    let flow_name = check_name("detail.flow-name", Some(flow))?;
    let execution_id = check_name("detail.execution-id", Some(&record.execution_id))?;
    let mut event = event_for(flow_name, record);
    execution_id.clone_into(&mut event.execution_id);
    Ok(event)
}

/// The event AppFlow would have sent for a failed run record, unchecked
/// (see [`checked_event_for`]).
pub fn event_for(flow: &str, record: &RunRecord) -> FailureEvent {
    FailureEvent {
        flow_name: flow.to_owned(),
        execution_id: record.execution_id.clone(),
        trigger_type: Some("ONDEMAND".into()),
        status: None,
        error: record
            .message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(|m| truncate_message(m).into_owned()),
        start_time: record.started_at,
        time: record.last_updated_at.or(record.started_at),
    }
}

impl<S: ParameterStore, A: AppFlow, M: StateMachine, C: Clock> Sweep<S, A, M, C> {
    /// One sweep, which starts no new flow, and decides no new failure, after `deadline`.
    pub async fn run(&self, deadline: Instant) -> Result<SweepOutput, SweepError> {
        self.run_until(|| Instant::now() >= deadline).await
    }

    /// One sweep that stops once `expired` says so, with an empty intake queue.
    pub async fn run_until(&self, expired: impl Fn() -> bool) -> Result<SweepOutput, SweepError> {
        self.run_with(IntakeBacklog::Empty, expired).await
    }

    /// One sweep that starts with `backlog` in the intake queue and stops once
    /// `expired` says so: checked before each flow's history read and before
    /// each failure; what is left is the next sweep's.
    pub async fn run_with(
        &self,
        backlog: IntakeBacklog,
        expired: impl Fn() -> bool,
    ) -> Result<SweepOutput, SweepError> {
        let mut out = SweepOutput::default();
        let now = self.on_failure.clock.now();
        let grace = self.limits.grace_for(backlog);
        out.grace_seconds = grace.num_seconds();
        out.intake_backlog = match backlog {
            IntakeBacklog::Empty => Some(0),
            IntakeBacklog::Waiting(n) => Some(n),
            IntakeBacklog::Unknown => None,
        };
        // Every listed flow's execution name prefix: a running execution
        // counts for the flow of the longest one it begins with.
        let mut listed: std::collections::HashSet<String> = std::collections::HashSet::new();

        // The cheap pass: ListFlows alone.
        let mut candidates = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .on_failure
                .appflow
                .list_flows(token)
                .await
                .map_err(SweepError::ListUnavailable)?;
            out.list_pages += 1;
            out.flows_listed += page.flows.len();
            listed.extend(page.flows.iter().map(|f| execution_name_prefix(&f.name)));
            candidates.extend(
                page.flows
                    .iter()
                    .filter(|f| self.coverage.covers(&f.name) && is_candidate(f))
                    .map(|f| Candidate {
                        name: f.name.clone(),
                        last_run_time: f.last_run_time,
                    }),
            );
            token = page.next_token;
            if token.is_none() {
                break;
            }
            if out.list_pages >= self.limits.max_list_pages.max(1) {
                out.list_truncated = true;
                tracing::warn!(
                    pages = out.list_pages,
                    "ListFlows has more pages than the sweep reads: flows past them are not swept"
                );
                break;
            }
        }
        // Newest failure first (no time last), then by name: a stable order.
        candidates.sort_by(|a, b| b.last_run_time.cmp(&a.last_run_time).then_with(|| a.name.cmp(&b.name)));
        // More candidates than one sweep may examine (its deadline, or
        // `max_flows`): a handled failure stays a candidate until its window
        // passes, so a fixed order could starve the rest. The start moves
        // with the clock's minute.
        if candidates.len() > 1 {
            let minute = u64::try_from(now.timestamp() / 60).unwrap_or(0);
            let len = candidates.len() as u64;
            let offset = usize::try_from(SplitMix64::new(minute).next_u64() % len).unwrap_or(0);
            candidates.rotate_left(offset);
        }

        out.candidates = candidates.len();
        // Read completely by an earlier sweep of this instance, and no newer run since.
        let (unchanged, candidates): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|c| self.memory.unchanged(&c.name, c.last_run_time, now));
        out.already_read += unchanged.len();
        // A flow with a running execution that started at or after its last
        // run is being decided or restarted: not read (when the execution
        // ends, the next sweep reads the flow if its last run still failed).
        let candidates = if candidates.is_empty() {
            candidates
        } else {
            let running = self.running_since(&listed).await;
            out.running_listed = running.as_ref().map(|(_, listed)| *listed);
            let running = running.map(|(newest, _)| newest);
            let (busy, idle): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|c| {
                let (Some(running), Some(last)) = (&running, c.last_run_time) else {
                    return false;
                };
                running
                    .get(&execution_name_prefix(&c.name))
                    .is_some_and(|started| *started >= last)
            });
            out.in_progress += busy.len();
            idle
        };
        // At most `max_flows` read; the rest are the next sweep's.
        let bound = candidates.len().min(self.limits.max_flows);
        let mut left = candidates.len() - bound;
        if left > 0 {
            out.stopped_by = Some("max_flows");
        }
        // `concurrency` flows at once, their reports merged in candidate
        // order; their policies read ahead, 10 names a call, a chunk at a
        // time (so that they are still fresh when their flows are reached).
        let expired = &expired;
        for chunk in candidates[..bound].chunks(POLICY_CHUNK) {
            if !expired() {
                let flows: Vec<&str> = chunk.iter().map(|c| c.name.as_str()).collect();
                if let Err(e) = self.on_failure.policies.prefetch(&flows, now).await {
                    tracing::warn!(error = %e, "the policies could not be read ahead: each flow reads its own");
                }
            }
            let mut reports = stream::iter(chunk)
                .map(|candidate| self.sweep_flow(candidate, now, grace, expired))
                .buffered(self.limits.concurrency.max(1));
            while let Some((flow, report)) = reports.next().await {
                out.absorb(report);
                match flow {
                    Flow::Examined => out.examined += 1,
                    Flow::OutsideWindow => out.outside_window += 1,
                    Flow::WithinGrace => {}
                    Flow::Unexamined(bound) => {
                        out.stopped_by = Some(bound);
                        left += 1;
                    }
                }
            }
        }
        out.left_for_next_run = left;
        tracing::info!(
            flows_listed = out.flows_listed,
            list_pages = out.list_pages,
            candidates = out.candidates,
            outside_window = out.outside_window,
            within_grace = out.within_grace,
            already_read = out.already_read,
            in_progress = out.in_progress,
            grace_seconds = out.grace_seconds,
            intake_backlog = out.intake_backlog,
            examined = out.examined,
            failures_seen = out.failures_seen,
            already_handled = out.already_handled,
            recovered = out.recovered.len(),
            refused = out.refused.len(),
            problems = out.problems.len(),
            histories_cut = out.histories_cut,
            left_for_next_run = out.left_for_next_run,
            failures_left_for_next_run = out.failures_left_for_next_run,
            stopped_by = out.stopped_by,
            "sweep done"
        );
        if out.problems.is_empty() {
            Ok(out)
        } else {
            Err(SweepError::Incomplete(Box::new(out)))
        }
    }

    /// One candidate flow, and what it adds to the sweep's output.
    async fn sweep_flow(
        &self,
        candidate: &Candidate,
        now: DateTime<Utc>,
        grace: TimeDelta,
        expired: &impl Fn() -> bool,
    ) -> (Flow, SweepOutput) {
        let mut out = SweepOutput::default();
        let (flow, last_run_read) = self.sweep_flow_into(candidate, now, grace, expired, &mut out).await;
        // Remembered only when nothing of the flow is left for later.
        match candidate.last_run_time {
            Some(last_run)
                if matches!(flow, Flow::Examined)
                    && last_run_read
                    && out.problems.is_empty()
                    && out.within_grace == 0
                    && out.stopped_by.is_none()
                    && out.histories_cut == 0 =>
            {
                self.memory.remember(&candidate.name, last_run, now);
            }
            _ => self.memory.forget(&candidate.name),
        }
        (flow, out)
    }

    async fn sweep_flow_into(
        &self,
        candidate: &Candidate,
        now: DateTime<Utc>,
        grace: TimeDelta,
        expired: &impl Fn() -> bool,
        out: &mut SweepOutput,
    ) -> (Flow, bool) {
        if expired() {
            return (Flow::Unexamined("deadline"), false);
        }
        let flow = candidate.name.as_str();
        let problem = |execution_id: Option<&str>, error_type: &'static str, message: String| SweepProblem {
            flow: flow.to_owned(),
            execution_id: execution_id.map(str::to_owned),
            error_type,
            message,
        };
        // The policy's longest window (a broken policy: the built-in default's).
        let lookback = match self.on_failure.policies.load(flow, now).await {
            Ok(loaded) => loaded
                .policy
                .usable()
                .map_or_else(|| Policy::default().longest_window(), |p| p.policy.longest_window()),
            Err(e) => {
                out.problems.push(problem(None, "PolicyUnavailable", e.to_string()));
                return (Flow::Examined, false);
            }
        };
        let lookback = lookback.as_chrono();
        let since = now - lookback;
        if candidate.last_run_time.is_some_and(|t| t < since) {
            return (Flow::OutsideWindow, false);
        }
        // The grace, at most half the flow's window: a window no longer
        // than the grace would otherwise pass before the sweep may look.
        let cutoff = now - grace.min(lookback / 2);
        // A flow whose last run is within the grace is the event path's: not
        // read (an older failure of it is superseded by that run, rule 6).
        if candidate.last_run_time.is_some_and(|t| t > cutoff) {
            out.within_grace += 1;
            return (Flow::WithinGrace, false);
        }
        let history = match self.read_flow(flow, since, lookback).await {
            Ok(h) => h,
            // Deleted since ListFlows: no run to restart.
            Err(HistoryError::FlowNotFound(_)) => return (Flow::Examined, false),
            Err(e) => {
                out.problems.push(problem(None, "HistoryUnavailable", e.to_string()));
                return (Flow::Examined, false);
            }
        };
        if !history.complete {
            out.histories_cut += 1;
            tracing::warn!(
                flow,
                pages = history.pages,
                "the flow's history is longer than the sweep's bound: only failures whose window the pages read cover are decided"
            );
        }
        let mut failed: Vec<(DateTime<Utc>, &RunRecord)> = failures_since(&history.records, since);
        // The failure ListFlows reports is among the records read (AppFlow
        // can show a record after its run's report).
        let last_run_read = candidate
            .last_run_time
            .is_some_and(|last| failed.iter().any(|(t, r)| *t >= last || r.started_at == Some(last)));
        failed.sort_by(|(ta, a), (tb, b)| tb.cmp(ta).then_with(|| a.execution_id.cmp(&b.execution_id)));
        // A record AWS lists twice (on two pages) is one failure.
        let mut seen = std::collections::HashSet::new();
        failed.retain(|(_, r)| seen.insert(r.execution_id.as_str()));
        for (i, &(at, record)) in failed.iter().enumerate() {
            if expired() {
                out.stopped_by = Some("deadline");
                out.failures_left_for_next_run += failed.len() - i;
                tracing::warn!(
                    flow,
                    left = failed.len() - i,
                    "the sweep's deadline came inside the flow: its other failures are the next sweep's"
                );
                break;
            }
            if at > cutoff {
                // The event path's still (a late event, a Lambda retry, a
                // queued intake): the next sweep looks again.
                out.within_grace += 1;
                continue;
            }
            out.failures_seen += 1;
            let event = match checked_event_for(flow, record) {
                Ok(event) => event,
                Err(e) => {
                    let execution_id: String = record.execution_id.chars().take(MAX_NAME_CHARS).collect();
                    tracing::error!(
                        flow,
                        execution_id = %execution_id,
                        field = %e.field,
                        problem = %e.problem,
                        "a failed run record the event path would refuse: not decided"
                    );
                    out.refused.push(Refused {
                        flow: flow.to_owned(),
                        execution_id,
                        field: e.field,
                        problem: e.problem,
                    });
                    continue;
                }
            };
            let name = execution_name(flow, &event.execution_id);
            let execution_id = event.execution_id.clone();
            let id = Some(execution_id.as_str());
            match self.on_failure.state_machine.execution_exists(&name).await {
                Ok(true) => {
                    out.already_handled += 1;
                    continue;
                }
                Ok(false) => {}
                Err(e) => {
                    out.problems.push(problem(id, "StateMachineUnavailable", e.to_string()));
                    continue;
                }
            }
            if !history.covers(at - lookback) {
                let e = HistoryError::Incomplete {
                    execution_id: event.execution_id.clone(),
                    pages: history.pages,
                    records: history.records.len(),
                };
                out.problems.push(problem(id, "HistoryIncomplete", e.to_string()));
                continue;
            }
            match self
                .on_failure
                .handle_failure_in(event, &history.records, Origin::Sweep)
                .await
            {
                Ok(o) if o.execution == ExecutionStart::AlreadyExists => out.already_handled += 1,
                Ok(o) => {
                    tracing::warn!(
                        flow,
                        execution_id = %o.decision.execution_id,
                        execution_name = %o.execution_name,
                        action = %o.decision.action,
                        "recovered a failed run no event reported: decided and started"
                    );
                    telemetry::emit(&[telemetry::sweep_recovered_metric(
                        o.decision.action.as_str(),
                        now.timestamp_millis(),
                    )]);
                    out.recovered.push(Recovered {
                        flow: flow.to_owned(),
                        execution_id: o.decision.execution_id.clone(),
                        execution_name: o.execution_name,
                        action: o.decision.action.as_str().to_owned(),
                        execution: o.execution,
                    });
                }
                Err(e) => out.problems.push(problem(id, e.error_type(), e.to_string())),
            }
        }
        (Flow::Examined, last_run_read)
    }

    /// The newest start of the running executions of each flow, by the
    /// flows' execution name prefix ([`execution_name_prefix`]), and how many
    /// were listed; None when they cannot be listed (every candidate is then
    /// read, as before).
    async fn running_since(
        &self,
        listed: &std::collections::HashSet<String>,
    ) -> Option<(HashMap<String, DateTime<Utc>>, usize)> {
        let mut newest: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut count = 0;
        let mut token = None;
        for _ in 0..MAX_RUNNING_PAGES {
            let page = match self.on_failure.state_machine.running_executions(token).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "the running executions cannot be listed (states:ListExecutions): every candidate flow is read");
                    return None;
                }
            };
            count += page.executions.len();
            for e in page.executions {
                // The longest listed flow's prefix: a flow named after
                // another's prefix (`waiting-<its hash>`) takes its own
                // executions, not the other's.
                if let Some(prefix) = name_prefixes(&e.name).filter(|p| listed.contains(*p)).last() {
                    let at = newest.entry(prefix.to_owned()).or_insert(e.started_at);
                    *at = (*at).max(e.started_at);
                }
            }
            token = page.next_token;
            if token.is_none() {
                return Some((newest, count));
            }
        }
        tracing::warn!(
            pages = MAX_RUNNING_PAGES,
            "more running executions than the sweep lists: every candidate flow is read"
        );
        None
    }

    /// A flow's run history, read once for all its failures: page after page
    /// until a whole page lies before the window of the oldest failure inside
    /// `since` (its time less `lookback`; `since` itself while no failure is
    /// seen), or no page is left, within `max_history_pages` (§5.3's stop
    /// rule: AWS documents no order).
    async fn read_flow(
        &self,
        flow: &str,
        since: DateTime<Utc>,
        lookback: TimeDelta,
    ) -> Result<FlowHistory, HistoryError> {
        let mut history = FlowHistory::default();
        let mut token = None;
        while history.pages < self.limits.max_history_pages.max(1) {
            let page = read_page(&self.on_failure.appflow, flow, token).await?;
            history.pages += 1;
            let newest = if page.records.is_empty() {
                None
            } else {
                page.records
                    .iter()
                    .map(RunRecord::time)
                    .collect::<Option<Vec<_>>>()
                    .and_then(|t| t.into_iter().max())
            };
            history.records.extend(page.records);
            token = page.next_token;
            let reach = failures_since(&history.records, since)
                .iter()
                .map(|(t, _)| *t - lookback)
                .min()
                .unwrap_or(since)
                .min(since);
            if let Some(newest) = newest {
                history.before.push(newest);
            }
            if token.is_none() || newest.is_some_and(|t| t < reach) {
                history.complete = true;
                return Ok(history);
            }
        }
        Ok(history)
    }
}

/// Candidates whose policies are read ahead together (5 GetParameters
/// calls for 40 flows and the default).
const POLICY_CHUNK: usize = 40;

/// ListExecutions pages (1,000 each) the sweep reads at most.
const MAX_RUNNING_PAGES: usize = 100;

/// Every [`execution_name_prefix`] an execution name could begin with:
/// `<readable>-<16 hex>-`, the readable part 1 to 26 characters. It may hold
/// dashes and hex itself, so each length that fits is given; a candidate's
/// own prefix is then looked up exactly. A name of another shape gives none.
fn name_prefixes(name: &str) -> impl Iterator<Item = &str> {
    let bytes = name.as_bytes();
    (1..=26).filter_map(move |len| {
        let hash = bytes.get(len + 1..len + 17)?;
        let fits = bytes[len] == b'-'
            && bytes.get(len + 17) == Some(&b'-')
            && hash.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        fits.then(|| &name[..len + 18])
    })
}

/// The `Error` records at or after `since`, with their times.
fn failures_since(records: &[RunRecord], since: DateTime<Utc>) -> Vec<(DateTime<Utc>, &RunRecord)> {
    records
        .iter()
        .filter(|r| r.status == RunStatus::Error)
        .filter_map(|r| r.time().map(|t| (t, r)))
        .filter(|(t, _)| *t >= since)
        .collect()
}

/// One flow's run records, read once by the sweep.
#[derive(Debug, Default)]
struct FlowHistory {
    /// The records read, in the order AWS sent them.
    records: Vec<RunRecord>,
    /// The pages read.
    pages: usize,
    /// The read reached the oldest failure's window, or the history's end.
    complete: bool,
    /// The newest time of each page whose records all carry a time.
    before: Vec<DateTime<Utc>>,
}

impl FlowHistory {
    /// Whether every record since `start` was read: the whole history or a page wholly before
    /// it (as [`crate::history::read_history`] stops).
    fn covers(&self, start: DateTime<Utc>) -> bool {
        self.complete || self.before.iter().any(|t| *t < start)
    }
}

impl SweepOutput {
    /// Adds one flow's report (its counters and lists; the sweep's own
    /// fields stay).
    fn absorb(&mut self, flow: SweepOutput) {
        self.within_grace += flow.within_grace;
        self.histories_cut += flow.histories_cut;
        self.failures_seen += flow.failures_seen;
        self.already_handled += flow.already_handled;
        self.failures_left_for_next_run += flow.failures_left_for_next_run;
        if self.stopped_by.is_none() {
            self.stopped_by = flow.stopped_by;
        }
        self.refused.extend(flow.refused);
        self.recovered.extend(flow.recovered);
        self.problems.extend(flow.problems);
    }
}

/// What became of one candidate.
enum Flow {
    Examined,
    OutsideWindow,
    /// Its last run is within the grace (counted in `within_grace`).
    WithinGrace,
    /// Not examined: this bound stopped the sweep.
    Unexamined(&'static str),
}
