//! `appflow-retry status` and `appflow-retry cancel` (docs/design.md §5.10).
//! The work is `appflow_retry_runtime::operate`; this finds the state
//! machine (flag, environment variable, or the Terraform root's output),
//! wires the SDK and parses `--since`.

use std::path::PathBuf;

use appflow_retry_aws::{SfnStateMachine, region_of_arn, sdk_config_with};

use crate::aws_error::one_line;
use appflow_retry_policy::appflow::parse_time;
use appflow_retry_policy::duration::Duration;
use appflow_retry_runtime::operate::{self, CancelLine, Status, StatusQuery, Target};
use chrono::{DateTime, Utc};

use crate::CliError;
use crate::terraform::Outputs;

/// The environment variable naming the state machine.
pub const STATE_MACHINE_ENV: &str = "APPFLOW_RETRY_STATE_MACHINE_ARN";
/// The Terraform root's output naming it.
pub const OUTPUT_STATE_MACHINE: &str = "state_machine_arn";

/// Where the state machine is and how to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// `--state-machine-arn`; None or empty: looked up elsewhere ([`Deployment::state_machine`]).
    pub state_machine_arn: Option<String>,
    /// `--terraform-dir`: the Terraform root whose output `state_machine_arn` names the machine.
    pub terraform_dir: Option<PathBuf>,
    /// `--region`; None: the AWS CLI's environment and profile decide.
    pub region: Option<String>,
    /// `--endpoint-url`; None: AWS (an emulator in tests).
    pub endpoint_url: Option<String>,
    /// `--profile`: the AWS profile (default: the environment's).
    pub profile: Option<String>,
    /// `--verbose`: the SDK's whole error text after the one-line error.
    pub verbose: bool,
}

impl Deployment {
    /// `--state-machine-arn`, else `APPFLOW_RETRY_STATE_MACHINE_ARN`, else
    /// the output `state_machine_arn` of `--terraform-dir`.
    pub fn state_machine(&self, env: Option<String>) -> Result<String, CliError> {
        if let Some(arn) = self.state_machine_arn.clone().filter(|a| !a.is_empty()) {
            return Ok(arn);
        }
        if let Some(dir) = &self.terraform_dir {
            return Outputs::read(dir)?.string(OUTPUT_STATE_MACHINE);
        }
        env.filter(|a| !a.is_empty()).ok_or_else(|| {
            CliError(format!(
                "no state machine: give --state-machine-arn, set {STATE_MACHINE_ENV}, or give --terraform-dir (its output `{OUTPUT_STATE_MACHINE}`)"
            ))
        })
    }

    async fn port(&self) -> Result<SfnStateMachine, CliError> {
        let arn = self.state_machine(std::env::var(STATE_MACHINE_ENV).ok())?;
        // The state machine's own region unless --region says otherwise.
        let region = self.region.as_deref().or_else(|| region_of_arn(&arn));
        let config = sdk_config_with(region, self.endpoint_url.as_deref(), self.profile.as_deref()).await;
        Ok(SfnStateMachine::new(&config, &arn))
    }
}

/// `--since`: a duration back from `now` (`2h`, `30m`, `1d`) or an RFC 3339 time.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CliError> {
    if let Ok(t) = parse_time(s) {
        return Ok(t);
    }
    let back: Duration = s.parse().map_err(|e| {
        CliError(format!(
            "--since `{s}`: neither a duration (2h, 30m) nor an RFC 3339 time: {e}"
        ))
    })?;
    now.checked_sub_signed(back.as_chrono())
        .ok_or_else(|| CliError(format!("--since `{s}`: too far back")))
}

/// Reads the status of the deployment; relative times count from `now`
/// (the current time, or the hidden `--now` the tests set).
pub async fn status(d: &Deployment, q: &StatusQuery, now: DateTime<Utc>) -> Result<Status, CliError> {
    let port = d.port().await?;
    operate::status(&port, q, now)
        .await
        .map_err(|e| CliError(one_line("Step Functions", &e, d.verbose)))
}

/// Who cancels: the `USER` (or `USERNAME`) of this shell.
pub fn who() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "an unknown user".to_owned())
}

/// Stops the pending restarts of `target`; true when the bound was hit.
pub async fn cancel(
    d: &Deployment,
    target: &Target,
    reason: Option<&str>,
    dry_run: bool,
    max_executions: usize,
) -> Result<(Vec<CancelLine>, bool), CliError> {
    let port = d.port().await?;
    let who = who();
    let reason = reason
        .map(str::to_owned)
        .unwrap_or_else(|| format!("cancelled by {who} with appflow-retry cancel"));
    operate::cancel(&port, target, &reason, &who, dry_run, max_executions)
        .await
        .map_err(|e| CliError(one_line("Step Functions", &e, d.verbose)))
}

/// `status --flow F`'s timeline: the flow's decisions (one row per action,
/// at the decision's time), its pending restarts at their due time, and now
/// (`|`), on one axis labelled in UTC. None when there is nothing to draw.
pub fn timeline(s: &Status, width: usize) -> Option<String> {
    use crate::timeline::{Row, render_with};
    let rows_in = s.pending.iter().chain(s.recent.iter());
    let t0 = rows_in.clone().map(|r| r.started_at).min()?;
    let secs = |t: DateTime<Utc>| u64::try_from((t - t0).num_seconds()).unwrap_or(0);
    let now = secs(s.generated_at);
    let mut rows: Vec<Row> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in s.recent.iter().chain(s.pending.iter()) {
        if !seen.insert(r.execution.as_str()) {
            continue;
        }
        let action = if r.action.is_empty() {
            "no decision"
        } else {
            r.action.as_str()
        };
        let label = format!("decided {action}");
        match rows.iter_mut().find(|row| row.label == label) {
            Some(row) => row.marks.push(secs(r.started_at)),
            None => rows.push(Row {
                label,
                marks: vec![secs(r.started_at)],
                glyph: action.chars().next().unwrap_or('?'),
                end: Some(now),
                note: String::new(),
            }),
        }
    }
    let due: Vec<u64> = s.pending.iter().filter_map(|r| r.restart_at).map(secs).collect();
    if !due.is_empty() {
        let last = s.pending.iter().filter_map(|r| r.restart_at).max();
        rows.push(Row {
            label: "restart due".to_owned(),
            marks: due,
            glyph: 'R',
            end: Some(now),
            note: last
                .map(|t| format!("next at {}", t.format("%H:%M UTC")))
                .unwrap_or_default(),
        });
    }
    let span = rows
        .iter()
        .flat_map(|r| r.marks.iter().copied())
        .max()
        .unwrap_or(0)
        .max(now);
    let with_date = span >= 86_400;
    let label = move |t: u64| {
        let at = t0 + chrono::Duration::seconds(i64::try_from(t).unwrap_or(i64::MAX / 2));
        if with_date {
            at.format("%m-%d %H:%M").to_string()
        } else {
            at.format("%H:%M").to_string()
        }
    };
    let mut out = String::from("Timeline (UTC; a mark: the first letter of the decision, R a restart due; | now):\n");
    out.push_str(&render_with(&rows, width, &label));
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_flag_wins_over_the_environment() {
        let d = Deployment {
            state_machine_arn: Some("arn:flag".into()),
            ..Deployment::default()
        };
        assert_eq!(d.state_machine(Some("arn:env".into())).unwrap(), "arn:flag");
        let d = Deployment::default();
        assert_eq!(d.state_machine(Some("arn:env".into())).unwrap(), "arn:env");
        let e = d.state_machine(None).unwrap_err();
        assert!(e.0.contains("--state-machine-arn"), "{e}");
    }

    #[test]
    fn since_is_a_duration_or_a_time() {
        let now = parse_time("2026-11-30T12:00:00Z").unwrap();
        assert_eq!(
            parse_since("2h", now).unwrap(),
            parse_time("2026-11-30T10:00:00Z").unwrap()
        );
        assert_eq!(
            parse_since("2026-11-29T08:00:00Z", now).unwrap(),
            parse_time("2026-11-29T08:00:00Z").unwrap()
        );
        assert!(
            parse_since("yesterday", now)
                .unwrap_err()
                .0
                .starts_with("--since `yesterday`")
        );
    }
}
