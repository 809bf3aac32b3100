//! Reading a flow's run history: every page up to a bound.

use appflow_retry_policy::RunRecord;

use crate::ports::{AppFlow, PortError};

/// How many pages of 100 records are read at most, by default (DESIGN §5).
pub const DEFAULT_MAX_PAGES: usize = 3;

/// The flow's run records, following `nextToken` for at most `max_pages`
/// pages. AWS documents no order, so callers use all records read.
pub async fn read_history(appflow: &impl AppFlow, flow: &str, max_pages: usize) -> Result<Vec<RunRecord>, PortError> {
    let mut records = Vec::new();
    let mut token = None;
    for _ in 0..max_pages.max(1) {
        let page = appflow.execution_records(flow, token).await?;
        records.extend(page.records);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(records)
}
