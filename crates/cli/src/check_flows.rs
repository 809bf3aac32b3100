//! `validate --check-flows`: the policy files against the account's flows
//! (ListFlows, `appflow:ListFlows`): a file for a flow that does not exist
//! (a typo, or a flow not created yet) never applies; a flow without a file
//! of its own runs on the default.

use std::collections::{BTreeMap, BTreeSet};

use appflow_retry_aws::{AppFlowSdkRetry, AwsAppFlow, sdk_config_with};
use appflow_retry_runtime::ports::{AppFlow, PortError};

use crate::CliError;
use crate::aws_error::one_line;

/// ListFlows pages read at most (100 flows each): AppFlow's default quota is
/// 1,000 flows an account.
const MAX_PAGES: usize = 1_000;

/// How to reach AppFlow.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `--region`.
    pub region: Option<String>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--verbose`.
    pub verbose: bool,
}

/// What the comparison found.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FlowCheck {
    /// Flows ListFlows returned.
    pub flows_listed: usize,
    /// Policy files whose flow is not among them: (file, flow).
    pub files_for_missing_flows: Vec<(String, String)>,
    /// Flows without a file of their own: the default governs them.
    pub flows_without_a_file: Vec<String>,
}

/// Compares `governed` (flow → file) with the flows `appflow` lists.
pub async fn compare<A: AppFlow>(appflow: &A, governed: &BTreeMap<String, String>) -> Result<FlowCheck, PortError> {
    let mut flows = BTreeSet::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page = appflow.list_flows(token).await?;
        flows.extend(page.flows.into_iter().map(|f| f.name));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(FlowCheck {
        flows_listed: flows.len(),
        files_for_missing_flows: governed
            .iter()
            .filter(|(flow, _)| !flows.contains(*flow))
            .map(|(flow, file)| (file.clone(), flow.clone()))
            .collect(),
        flows_without_a_file: flows.into_iter().filter(|f| !governed.contains_key(f)).collect(),
    })
}

/// [`compare`] against AppFlow.
pub async fn check_flows(conn: &Connection, governed: &BTreeMap<String, String>) -> Result<FlowCheck, CliError> {
    let config = sdk_config_with(
        conn.region.as_deref(),
        conn.endpoint_url.as_deref(),
        conn.profile.as_deref(),
    )
    .await;
    let appflow = AwsAppFlow::new(
        &config,
        &AppFlowSdkRetry {
            max_attempts: 3,
            ..AppFlowSdkRetry::default()
        },
    );
    compare(&appflow, governed)
        .await
        .map_err(|e| CliError(one_line("AppFlow ListFlows", &e, conn.verbose)))
}

/// The findings as warnings (stderr lines, without the `warning: ` prefix).
pub fn warnings(check: &FlowCheck) -> Vec<String> {
    let mut out: Vec<String> = check
        .files_for_missing_flows
        .iter()
        .map(|(file, flow)| {
            format!("{file}: flow {flow} is not among the account's {} flows: a typo, or a flow not created yet? (the file applies to nothing)", check.flows_listed)
        })
        .collect();
    if !check.flows_without_a_file.is_empty() {
        let shown: Vec<&str> = check.flows_without_a_file.iter().take(20).map(String::as_str).collect();
        let more = check.flows_without_a_file.len() - shown.len();
        out.push(format!(
            "{} of the account's flows have no file of their own (the default governs them): {}{}",
            check.flows_without_a_file.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    out
}
