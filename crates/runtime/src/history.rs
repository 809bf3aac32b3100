//! Reading a flow's run history (docs/design.md §5.3): page after page until
//! the failed run and the window before it are covered, within a bound.

use appflow_retry_policy::{RunRecord, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::{AppFlow, PortError, RecordsPage};

/// How many pages of 100 records are read at most, by default.
pub const DEFAULT_MAX_PAGES: usize = 20;

/// How many records must have come newest first before the reader takes
/// that as the listing's order ([`Cover::until_streak_end`]): a shuffled
/// listing of 20 looks sorted once in 20! (about 2.4e18).
pub const ORDER_EVIDENCE: usize = 20;

/// What a reader must have seen before it may stop.
#[derive(Debug, Clone, Copy)]
pub struct Cover<'a> {
    /// The failed run, whose own record the decision needs. Empty: no run
    /// to find (a deactivation), the window ends at `fallback_time`.
    pub execution_id: &'a str,
    /// The failed run's time when its record carries none (the event's).
    pub fallback_time: DateTime<Utc>,
    /// How far before the failed run the decision looks (the longest
    /// `retry_window` of the policy; zero for the restart's checks).
    pub lookback: TimeDelta,
    /// The reader needs the failure streak only (rule 7: the `Error` runs
    /// just before the failed run, up to the first run of another status):
    /// it may also stop when every record read so far, at least
    /// [`ORDER_EVIDENCE`] of them, came newest first (evidence of the order)
    /// and the last page holds a run older than the failed run and not an
    /// `Error`, which closes the streak. A flow that runs
    /// every minute then costs a page or two, not its whole window (2,880
    /// runs in 2 days, beyond the page bound). False where the whole window
    /// counts (deactivations, recoveries).
    pub until_streak_end: bool,
}

/// Why no history came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The flow does not exist (any more).
    #[error("the flow does not exist: {0}")]
    FlowNotFound(PortError),
    /// AppFlow could not be read, after the SDK's retries.
    #[error("{0}")]
    Unavailable(PortError),
    /// The bound was hit before the failed run and its window were covered.
    #[error(
        "read {pages} pages ({records} records) without covering the failed run {execution_id} and the window before it"
    )]
    Incomplete {
        /// The failed run looked for (empty for a deactivation).
        execution_id: String,
        /// How many pages were read: the bound.
        pages: usize,
        /// How many records those pages held.
        records: usize,
    },
}

/// The flow's run records, in the order AWS sent them. AWS documents no
/// order, so the reader stops only when there is no next page, or when the
/// failed run has been seen and a whole page lay before the window (the
/// history is evidently newest first, and the rest is older still), or,
/// with [`Cover::until_streak_end`], once the records so far came newest
/// first and a page closes the failed run's streak (the rest is older than
/// the streak's end).
pub async fn read_history(
    appflow: &impl AppFlow,
    flow: &str,
    cover: Cover<'_>,
    max_pages: usize,
) -> Result<Vec<RunRecord>, HistoryError> {
    let (records, outcome) = read_history_keeping(appflow, flow, cover, max_pages).await;
    outcome.map(|()| records)
}

/// [`read_history`], keeping what was read when the bound stops it
/// ([`HistoryError::Incomplete`]): evidence a decision may still rest on
/// when it can only hold more with more pages (a failure streak already
/// past `max_retries`).
pub async fn read_history_keeping(
    appflow: &impl AppFlow,
    flow: &str,
    cover: Cover<'_>,
    max_pages: usize,
) -> (Vec<RunRecord>, Result<(), HistoryError>) {
    let mut records: Vec<RunRecord> = Vec::new();
    let mut token = None;
    let mut failed_at: Option<DateTime<Utc>> = cover.execution_id.is_empty().then_some(cover.fallback_time);
    // Whether every record read so far came newest first (each at or before
    // the one listed before it, all with a time), and the last one's time.
    let mut newest_first = true;
    let mut last_time: Option<DateTime<Utc>> = None;
    for page_no in 1..=max_pages.max(1) {
        let page = match read_page(appflow, flow, token).await {
            Ok(page) => page,
            Err(e) => return (records, Err(e)),
        };
        if failed_at.is_none() {
            failed_at = page
                .records
                .iter()
                .find(|r| r.execution_id == cover.execution_id)
                .map(|r| r.time().unwrap_or(cover.fallback_time));
        }
        let all_before = |t: DateTime<Utc>| {
            !page.records.is_empty() && page.records.iter().all(|r| r.time().is_some_and(|rt| rt < t))
        };
        let before_window = failed_at.is_some_and(|t| all_before(t - cover.lookback));
        for r in &page.records {
            match r.time() {
                Some(t) if last_time.is_none_or(|last| t <= last) => last_time = Some(t),
                _ => newest_first = false,
            }
        }
        let streak_closed = cover.until_streak_end
            && newest_first
            && records.len() + page.records.len() >= ORDER_EVIDENCE
            && failed_at.is_some_and(|t| {
                page.records
                    .iter()
                    .any(|r| r.status != RunStatus::Error && r.time().is_some_and(|rt| rt < t))
            });
        records.extend(page.records);
        token = page.next_token;
        if token.is_none() || before_window || streak_closed {
            return (records, Ok(()));
        }
        if page_no == max_pages.max(1) {
            break;
        }
    }
    let incomplete = HistoryError::Incomplete {
        execution_id: cover.execution_id.to_owned(),
        pages: max_pages.max(1),
        records: records.len(),
    };
    (records, Err(incomplete))
}

/// One page of the flow's run records (DescribeFlowExecutionRecords), with
/// a missing flow told apart: the one page read of every history reader.
pub(crate) async fn read_page(
    appflow: &impl AppFlow,
    flow: &str,
    token: Option<String>,
) -> Result<RecordsPage, HistoryError> {
    appflow.execution_records(flow, token).await.map_err(|e| match e {
        PortError::NotFound(_) => HistoryError::FlowNotFound(e),
        e => HistoryError::Unavailable(e),
    })
}
