//! `appflow-retry status` and `appflow-retry cancel` (docs/design.md §5.10):
//! what the retry state machine's executions say about pending restarts and
//! recent decisions, and stopping a pending restart. Reads and stops go
//! through the [`Executions`] port; the rows, the pending-or-past-its-Wait
//! rule, relative times and the table rendering are pure. No AWS SDK here.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::ports::PortError;

/// Executions examined by default, and at most.
pub const DEFAULT_MAX_EXECUTIONS: usize = 100;
/// The most executions `--max-executions` may ask to examine.
pub const MAX_EXECUTIONS: usize = 1000;
/// ListExecutions page size (the API's maximum is 1000; smaller pages keep
/// each call short).
pub const LIST_PAGE_SIZE: usize = 100;
/// History events read (newest first) to find the state an execution is in.
pub const HISTORY_EVENTS: usize = 50;
/// The StopExecution error `cancel` sets.
pub const CANCEL_ERROR: &str = "Cancelled";
/// Table width when the terminal does not say.
pub const DEFAULT_WIDTH: usize = 120;

/// The states an execution with a restart action passes through before its
/// restart begins: stopping it there starts nothing.
pub const BEFORE_RESTART_STATES: &[&str] = &["Route", "NotifyRetry", "NotifyReactivate", "WaitBackoff"];

/// An execution's status, as Step Functions reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    /// `RUNNING`: the execution has not ended.
    Running,
    /// `SUCCEEDED`: it reached `Done`.
    Succeeded,
    /// `FAILED`: it failed (e.g. `RestartFailed`).
    Failed,
    /// `TIMED_OUT`: it ran past its time-out.
    TimedOut,
    /// `ABORTED`: it was stopped (by `cancel` or by hand).
    Aborted,
    /// `PENDING_REDRIVE`: failed, and a Step Functions redrive is pending.
    PendingRedrive,
}

/// One execution as ListExecutions lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSummary {
    /// The execution's ARN.
    pub arn: String,
    /// The execution's name, derived from (flow, execution id) (docs/design.md §5.4).
    pub name: String,
    /// The execution's status.
    pub status: RunState,
    /// When the execution started.
    pub start: DateTime<Utc>,
}

/// One page of ListExecutions (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecutionsPage {
    /// The page's executions.
    pub executions: Vec<ExecutionSummary>,
    /// The token of the next page; None on the last page.
    pub next_token: Option<String>,
}

/// What DescribeExecution says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionDetail {
    /// The execution's ARN.
    pub arn: String,
    /// The execution's name.
    pub name: String,
    /// The execution's status.
    pub status: RunState,
    /// When the execution started.
    pub start: DateTime<Utc>,
    /// When it ended; None while it runs.
    pub stop: Option<DateTime<Utc>>,
    /// The execution's input (the JSON of docs/design.md §5.4); None when Step Functions gave none.
    pub input: Option<String>,
    /// The error and cause of a stopped or failed execution, when given.
    pub error: Option<String>,
    /// The stop or failure cause, when given (for `cancel`: `<reason> (by <user>, ...)`).
    pub cause: Option<String>,
}

/// The retry state machine's executions, as `status` and `cancel` use them.
pub trait Executions: Send + Sync {
    /// The ARN of the execution named `name` of this state machine.
    fn arn_of(&self, name: &str) -> String;

    /// One page (at most `max`) of executions, newest first; only those with
    /// `status` when given.
    fn list_executions(
        &self,
        status: Option<RunState>,
        next_token: Option<String>,
        max: usize,
    ) -> impl Future<Output = Result<ExecutionsPage, PortError>> + Send;

    /// The execution; [`PortError::NotFound`] when it does not exist.
    fn describe_execution(&self, arn: &str) -> impl Future<Output = Result<ExecutionDetail, PortError>> + Send;

    /// The names of the states the execution entered among its newest `max`
    /// history events, newest first.
    fn states_entered_newest_first(
        &self,
        arn: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;

    /// StopExecution with `error` and `cause`.
    fn stop_execution(&self, arn: &str, error: &str, cause: &str)
    -> impl Future<Output = Result<(), PortError>> + Send;
}

impl<T: Executions> Executions for &T {
    fn arn_of(&self, name: &str) -> String {
        (**self).arn_of(name)
    }
    fn list_executions(
        &self,
        status: Option<RunState>,
        next_token: Option<String>,
        max: usize,
    ) -> impl Future<Output = Result<ExecutionsPage, PortError>> + Send {
        (**self).list_executions(status, next_token, max)
    }
    fn describe_execution(&self, arn: &str) -> impl Future<Output = Result<ExecutionDetail, PortError>> + Send {
        (**self).describe_execution(arn)
    }
    fn states_entered_newest_first(
        &self,
        arn: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<String>, PortError>> + Send {
        (**self).states_entered_newest_first(arn, max)
    }
    fn stop_execution(
        &self,
        arn: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send {
        (**self).stop_execution(arn, error, cause)
    }
}

/// Where an execution is, for `status` and `cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Running, a restart action, not yet past `WaitBackoff`: cancellable.
    Pending,
    /// Running and past its Wait (the restart may have called StartFlow).
    Restarting,
    /// Running with another action (notifying), or its state unknown.
    Running,
    /// Ended normally (`SUCCEEDED`): the decision was carried out.
    Succeeded,
    /// Failed (`FAILED`), e.g. its restart failed after its retries.
    Failed,
    /// Ran past its time-out (`TIMED_OUT`).
    TimedOut,
    /// Stopped (ABORTED): by `cancel` or by hand.
    Cancelled,
}

/// One execution, read from its input (docs/design.md §5.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The execution's name.
    pub execution: String,
    /// The AppFlow flow, from the input's `flow_name`.
    pub flow: String,
    /// The failed run's execution id, from the input's `execution_id`.
    pub failed_run: String,
    /// The decision's `action` (`retry`, `give_up`, ...); empty when the input has none.
    pub action: String,
    /// The decision's `error_class`; empty when null.
    pub error_class: String,
    /// The decision's `attempt`; None when null (decided before rule 7).
    pub attempt: Option<u64>,
    /// The decision's effective `max_retries`.
    pub max_retries: Option<u64>,
    /// The decision's `reason`.
    pub reason: String,
    /// When the execution started: the time of the decision.
    pub started_at: DateTime<Utc>,
    /// When the execution ended; None while it runs.
    pub stopped_at: Option<DateTime<Utc>>,
    /// When the restart is (was) due: start + `decision.delay_seconds`.
    pub restart_at: Option<DateTime<Utc>>,
    /// Where the execution is (`pending`, `restarting`, ...).
    pub phase: Phase,
    /// The state last entered, when the history was read.
    pub state: Option<String>,
    /// A stopped or failed execution's cause, as Step Functions gives it.
    pub cause: Option<String>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Whether the decision's action goes through `WaitBackoff` → `Restart`.
pub fn is_restart_action(action: &str) -> bool {
    action == "retry" || action == "reactivate"
}

/// Whether an execution with a restart action is still before its restart,
/// from the states it entered (newest first): the newest is one of
/// [`BEFORE_RESTART_STATES`]. None when the events read name no state.
pub fn before_restart(states_newest_first: &[String]) -> Option<bool> {
    states_newest_first
        .first()
        .map(|s| BEFORE_RESTART_STATES.contains(&s.as_str()))
}

/// The row of an execution; `states` are the states it entered, newest first,
/// when its history was read (only for a running one with a restart action).
pub fn row(detail: &ExecutionDetail, states: Option<&[String]>) -> Row {
    let input: Value = detail
        .input
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let decision = input.get("decision").cloned().unwrap_or(Value::Null);
    let action = text(&decision, "action");
    let restart_at = decision
        .get("delay_seconds")
        .and_then(Value::as_u64)
        .filter(|_| is_restart_action(&action))
        .and_then(|d| i64::try_from(d).ok())
        .and_then(TimeDelta::try_seconds)
        .map(|d| detail.start + d);
    let phase = match detail.status {
        RunState::Running if is_restart_action(&action) => match states.and_then(before_restart) {
            Some(true) => Phase::Pending,
            Some(false) => Phase::Restarting,
            None => Phase::Running,
        },
        RunState::Running | RunState::PendingRedrive => Phase::Running,
        RunState::Succeeded => Phase::Succeeded,
        RunState::Failed => Phase::Failed,
        RunState::TimedOut => Phase::TimedOut,
        RunState::Aborted => Phase::Cancelled,
    };
    Row {
        execution: detail.name.clone(),
        flow: text(&input, "flow_name"),
        failed_run: text(&input, "execution_id"),
        action,
        error_class: text(&decision, "error_class"),
        attempt: decision.get("attempt").and_then(Value::as_u64),
        max_retries: decision.get("max_retries").and_then(Value::as_u64),
        reason: text(&decision, "reason"),
        started_at: detail.start,
        stopped_at: detail.stop,
        restart_at,
        phase,
        state: states.and_then(|s| s.first().cloned()),
        cause: detail.cause.clone().filter(|c| !c.is_empty()),
    }
}

/// "in 4m", "12m ago", "in 1h59m", "2d3h ago", "now": `t` relative to
/// `now`, in the two largest units (seconds only under a minute), rounded down.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    let a = secs.unsigned_abs();
    if a < 1 {
        return "now".to_owned();
    }
    let amount = match a {
        0..60 => format!("{a}s"),
        60..3600 => format!("{}m", a / 60),
        3600..86_400 if (a % 3600) / 60 == 0 => format!("{}h", a / 3600),
        3600..86_400 => format!("{}h{}m", a / 3600, (a % 3600) / 60),
        _ if (a % 86_400) / 3600 == 0 => format!("{}d", a / 86_400),
        _ => format!("{}d{}h", a / 86_400, (a % 86_400) / 3600),
    };
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// `s` cut to `max` characters, the last one an ellipsis when cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = one_line.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// A table: columns aligned to their widest cell, two spaces apart; the last
/// column is cut (with an ellipsis) so that no line is wider than `width`.
/// Cells are single lines (control characters become spaces).
pub fn render_table(headers: &[&str], rows: &[Vec<String>], width: usize) -> String {
    let cols = headers.len();
    let cell = |s: &str| ellipsize(s, usize::MAX);
    let all: Vec<Vec<String>> = std::iter::once(headers.iter().map(|h| (*h).to_owned()).collect())
        .chain(rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()))
        .collect();
    let mut widths = vec![0usize; cols];
    for r in &all {
        for (i, c) in r.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let fixed: usize = widths.iter().take(cols.saturating_sub(1)).map(|w| w + 2).sum();
    let last_max = width.saturating_sub(fixed).max(headers.last().map_or(0, |h| h.len()));
    let mut out = String::new();
    for r in &all {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate().take(cols) {
            if i + 1 == cols {
                line.push_str(&ellipsize(c, last_max));
            } else {
                line.push_str(c);
                line.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What `status` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// When the report was made (the clock's now).
    pub generated_at: DateTime<Utc>,
    /// Running executions before their restart, soonest first.
    pub pending: Vec<Row>,
    /// Every execution examined (newest first), filtered by flow and since.
    pub recent: Vec<Row>,
    /// Executions examined (described).
    pub examined: usize,
    /// Whether the bound was hit: older executions were not examined.
    pub truncated: bool,
    /// The `--max-executions` bound in force.
    pub max_executions: usize,
}

/// What to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQuery {
    /// Only this flow's executions (`--flow`); None: every flow.
    pub flow: Option<String>,
    /// Recent decisions started at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Executions examined at most (per listing: running ones, then all).
    pub max_executions: usize,
    /// Recent decisions shown at most (newest first).
    pub last: usize,
}

/// Lists up to `max` executions (newest first) with `status`; whether more were left.
async fn list<E: Executions>(
    port: &E,
    status: Option<RunState>,
    max: usize,
    stop_before: Option<DateTime<Utc>>,
) -> Result<(Vec<ExecutionSummary>, bool), PortError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let want = (max - out.len()).min(LIST_PAGE_SIZE);
        let page = port.list_executions(status, token, want).await?;
        for e in page.executions {
            if stop_before.is_some_and(|s| e.start < s) {
                return Ok((out, false));
            }
            if out.len() == max {
                return Ok((out, true));
            }
            out.push(e);
        }
        match page.next_token {
            Some(t) if out.len() < max => token = Some(t),
            Some(_) => return Ok((out, true)),
            None => return Ok((out, false)),
        }
    }
}

/// Describes an execution and, when it is running with a restart action,
/// reads its newest history events.
async fn read_row<E: Executions>(port: &E, arn: &str) -> Result<Row, PortError> {
    let detail = port.describe_execution(arn).await?;
    let plain = row(&detail, None);
    if detail.status == RunState::Running && is_restart_action(&plain.action) {
        let states = port.states_entered_newest_first(arn, HISTORY_EVENTS).await?;
        return Ok(row(&detail, Some(&states)));
    }
    Ok(plain)
}

/// Reads the pending restarts and the recent decisions: ListExecutions of
/// the running ones, then of all (each at most `max_executions`, the second
/// stopping at `since`), one DescribeExecution per execution, one history
/// page per running execution with a restart action.
pub async fn status<E: Executions>(port: &E, q: &StatusQuery, now: DateTime<Utc>) -> Result<Status, PortError> {
    let max = q.max_executions.clamp(1, MAX_EXECUTIONS);
    let (running, t1) = list(port, Some(RunState::Running), max, None).await?;
    let (all, t2) = list(port, None, max, q.since).await?;
    let mut rows: HashMap<String, Row> = HashMap::new();
    for e in running.iter().chain(all.iter()) {
        if !rows.contains_key(&e.arn) {
            rows.insert(e.arn.clone(), read_row(port, &e.arn).await?);
        }
    }
    let wanted = |r: &Row| q.flow.as_ref().is_none_or(|f| &r.flow == f);
    let mut pending: Vec<Row> = running
        .iter()
        .filter_map(|e| rows.get(&e.arn))
        .filter(|r| r.phase == Phase::Pending && wanted(r))
        .cloned()
        .collect();
    pending.sort_by_key(|r| (r.restart_at, r.execution.clone()));
    let recent: Vec<Row> = all
        .iter()
        .filter_map(|e| rows.get(&e.arn))
        .filter(|r| wanted(r))
        .take(q.last)
        .cloned()
        .collect();
    Ok(Status {
        generated_at: now,
        pending,
        recent,
        examined: rows.len(),
        truncated: t1 || t2,
        max_executions: max,
    })
}

fn attempt(r: &Row) -> String {
    match (r.attempt, r.max_retries) {
        (Some(a), Some(m)) => format!("{a}/{m}"),
        (Some(a), None) => a.to_string(),
        _ => "-".to_owned(),
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() { "-".to_owned() } else { s.to_owned() }
}

/// What a recent decision's row says in its STATUS column.
pub fn status_word(r: &Row) -> &'static str {
    match r.phase {
        Phase::Pending => "waiting",
        Phase::Restarting => "restarting",
        Phase::Running => "running",
        Phase::Succeeded => "done",
        Phase::Failed => "failed",
        Phase::TimedOut => "timed-out",
        Phase::Cancelled => "cancelled",
    }
}

/// The two tables of `status`: the recent decisions at most `width`
/// characters wide (the reason is cut), the pending restarts whole.
pub fn render_status(s: &Status, width: usize) -> String {
    let now = s.generated_at;
    let mut out = String::from("Pending restarts\n");
    if s.pending.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let rows: Vec<Vec<String>> = s
            .pending
            .iter()
            .map(|r| {
                vec![
                    or_dash(&r.flow),
                    or_dash(&r.failed_run),
                    or_dash(&r.error_class),
                    attempt(r),
                    r.restart_at
                        .map_or("-".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()),
                    r.restart_at.map_or("-".to_owned(), |t| relative(t, now)),
                    r.execution.clone(),
                ]
            })
            .collect();
        // Identifiers are never cut (`cancel --execution` takes the name):
        // this table ignores the width; only free text is cut.
        out.push_str(&render_table(
            &[
                "FLOW",
                "FAILED RUN",
                "CLASS",
                "ATTEMPT",
                "RESTART AT",
                "LEFT",
                "EXECUTION",
            ],
            &rows,
            usize::MAX,
        ));
    }
    out.push_str("\nRecent decisions\n");
    if s.recent.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let rows: Vec<Vec<String>> = s
            .recent
            .iter()
            .map(|r| {
                let why = match (&r.phase, &r.cause) {
                    (Phase::Cancelled | Phase::Failed, Some(c)) => c.clone(),
                    _ => r.reason.clone(),
                };
                vec![
                    relative(r.started_at, now),
                    or_dash(&r.flow),
                    or_dash(&r.action),
                    or_dash(&r.error_class),
                    attempt(r),
                    status_word(r).to_owned(),
                    or_dash(&why),
                ]
            })
            .collect();
        out.push_str(&render_table(
            &["TIME", "FLOW", "ACTION", "CLASS", "ATTEMPT", "STATUS", "REASON"],
            &rows,
            width,
        ));
    }
    if s.truncated {
        out.push_str(&format!(
            "\n(only the newest {} executions were examined: raise --max-executions to see older ones)\n",
            s.max_executions
        ));
    }
    out
}

/// What `cancel` stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every pending restart of this flow.
    Flow(String),
    /// Exactly this execution.
    Execution(String),
}

/// What `cancel` did with one execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum CancelOutcome {
    /// The execution was stopped.
    Stopped,
    /// `--dry-run`: the execution would have been stopped.
    WouldStop,
    /// Not stopped: past its Wait, not running, or not a restart.
    Refused {
        /// Why: it is past its Wait, not running, not a restart, or of unknown state.
        why: String,
    },
    /// StopExecution (or a read before it) failed.
    Failed {
        /// The error, as the port reported it.
        error: String,
    },
}

/// One line of `cancel`'s report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelLine {
    /// The execution's name.
    pub execution: String,
    /// The AppFlow flow, from the execution's input.
    pub flow: String,
    /// The failed run's execution id, from the execution's input.
    pub failed_run: String,
    /// What was done, or why not.
    #[serde(flatten)]
    pub outcome: CancelOutcome,
}

impl CancelLine {
    /// The report's line: `stopped ...`, `would stop ...`, `refused ...: why` or `failed ...: error`.
    pub fn render(&self) -> String {
        let what = format!(
            "{} (flow {}, failed run {})",
            self.execution, self.flow, self.failed_run
        );
        match &self.outcome {
            CancelOutcome::Stopped => format!("stopped {what}"),
            CancelOutcome::WouldStop => format!("would stop {what}"),
            CancelOutcome::Refused { why } => format!("refused {what}: {why}"),
            CancelOutcome::Failed { error } => format!("failed {what}: {error}"),
        }
    }
}

/// Why an execution may not be stopped; None when it is a pending restart.
pub fn refusal(r: &Row) -> Option<String> {
    match r.phase {
        Phase::Pending => None,
        Phase::Restarting => Some(format!(
            "past its Wait (state {} entered): a restart that has begun cannot be stopped safely, it may have called StartFlow already",
            r.state.as_deref().unwrap_or("?")
        )),
        Phase::Running if is_restart_action(&r.action) => {
            Some("its history does not show where it is: not stopped (fail closed)".to_owned())
        }
        Phase::Running => Some(format!(
            "not a restart (action {}): nothing to cancel",
            or_dash(&r.action)
        )),
        _ => Some(format!("not running ({}): nothing to cancel", status_word(r))),
    }
}

/// The StopExecution cause: the reason and who gave it.
pub fn cause(reason: &str, who: &str) -> String {
    ellipsize(&format!("{reason} (by {who}, appflow-retry cancel)"), 32_768)
}

/// Stops the pending restarts of `target`: each execution's history is read
/// again right before its StopExecution, so one that entered its restart
/// meanwhile is refused. Nothing is stopped with `dry_run`. The flag is true
/// when `--flow` hit the bound: older running executions were not examined.
pub async fn cancel<E: Executions>(
    port: &E,
    target: &Target,
    reason: &str,
    who: &str,
    dry_run: bool,
    max_executions: usize,
) -> Result<(Vec<CancelLine>, bool), PortError> {
    let mut truncated = false;
    let candidates: Vec<Row> = match target {
        Target::Execution(name) => vec![read_row(port, &port.arn_of(name)).await?],
        Target::Flow(flow) => {
            let (running, hit) = list(
                port,
                Some(RunState::Running),
                max_executions.clamp(1, MAX_EXECUTIONS),
                None,
            )
            .await?;
            truncated = hit;
            let mut rows = Vec::new();
            for e in running {
                let r = read_row(port, &e.arn).await?;
                if &r.flow == flow && is_restart_action(&r.action) {
                    rows.push(r);
                }
            }
            rows
        }
    };
    let cause = cause(reason, who);
    let mut lines = Vec::new();
    for r in candidates {
        let line = |outcome| CancelLine {
            execution: r.execution.clone(),
            flow: r.flow.clone(),
            failed_run: r.failed_run.clone(),
            outcome,
        };
        if let Some(why) = refusal(&r) {
            lines.push(line(CancelOutcome::Refused { why }));
            continue;
        }
        if dry_run {
            lines.push(line(CancelOutcome::WouldStop));
            continue;
        }
        let arn = port.arn_of(&r.execution);
        // The race: the Wait may have ended since the first read.
        let again = match read_row(port, &arn).await {
            Ok(again) => again,
            Err(e) => {
                lines.push(line(CancelOutcome::Failed { error: e.to_string() }));
                continue;
            }
        };
        if let Some(why) = refusal(&again) {
            lines.push(line(CancelOutcome::Refused { why }));
            continue;
        }
        match port.stop_execution(&arn, CANCEL_ERROR, &cause).await {
            Ok(()) => lines.push(line(CancelOutcome::Stopped)),
            Err(e) => lines.push(line(CancelOutcome::Failed { error: e.to_string() })),
        }
    }
    Ok((lines, truncated))
}

#[cfg(test)]
#[path = "operate_tests.rs"]
mod tests;
