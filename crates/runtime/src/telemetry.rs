//! What the handlers log: one structured line per decision (through
//! `tracing`, JSON in Lambda) and CloudWatch embedded-metric-format lines.
//! Messages from AppFlow are data: JSON encoding escapes their control
//! characters, so they can never forge a log line.

use appflow_retry_policy::conflict::Difference;
use appflow_retry_policy::{Decision, FlowPolicy, truncate_message};
use serde_json::{Value, json};

use crate::policy_cache::LoadedPolicy;

/// The CloudWatch namespace of the service's metrics.
pub const NAMESPACE: &str = "AppFlowRetry";

/// A metric the handlers emit in [`NAMESPACE`]: counted by `dimension`
/// and in total. `terraform/modules/service/metrics.json` lists the same
/// (a test here holds them equal); the alarms and the dashboard name only
/// metrics listed there (Terraform's tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The metric's name.
    pub name: &'static str,
    /// The dimension besides the total, if any.
    pub dimension: Option<&'static str>,
}

/// One per decision, by `Action` (on-failure, the sweep).
pub const DECISIONS: Metric = Metric {
    name: "Decisions",
    dimension: Some("Action"),
};
/// A flow whose policy cannot be used, by `Flow`.
pub const BROKEN_POLICIES: Metric = Metric {
    name: "BrokenPolicies",
    dimension: Some("Flow"),
};
/// No default policy parameter: the built-in defaults apply.
pub const DEFAULT_POLICY_MISSING: Metric = Metric {
    name: "DefaultPolicyMissing",
    dimension: None,
};
/// A failed run the sweep found with no execution and decided, by `Action`.
pub const SWEEP_RECOVERED: Metric = Metric {
    name: "SweepRecovered",
    dimension: Some("Action"),
};
/// A run whose execution holds another decision than this one, by `Flow`.
pub const DECISION_CONFLICTS: Metric = Metric {
    name: "DecisionConflicts",
    dimension: Some("Flow"),
};
/// Every metric the code emits.
pub const METRICS: [Metric; 5] = [
    DECISIONS,
    BROKEN_POLICIES,
    DEFAULT_POLICY_MISSING,
    SWEEP_RECOVERED,
    DECISION_CONFLICTS,
];

/// Logs one decision.
pub fn decision(d: &Decision, message: &str, policy_broken: bool) {
    tracing::info!(
        flow = %d.flow,
        execution_id = %d.execution_id,
        action = %d.action,
        error_class = d.error_class.as_deref(),
        attempt = d.attempt,
        max_retries = d.max_retries,
        delay_seconds = d.delay_seconds,
        policy = %d.policy,
        policy_broken,
        notify = d.notify,
        reason = %d.reason,
        error_message = %message,
        "decision"
    );
}

/// Logs what is wrong with a flow's policy parameters, naming each problem.
pub fn policy_problems(flow: &str, loaded: &LoadedPolicy) {
    if loaded.default_missing {
        tracing::warn!(flow, "no default policy parameter: using the built-in defaults");
    }
    if let FlowPolicy::Broken(broken) = loaded.policy.as_ref() {
        for problem in &broken.problems {
            tracing::error!(
                flow,
                parameter = %problem.file,
                line = problem.position.line,
                column = problem.position.column,
                problem = %problem.message,
                "broken policy parameter: this flow's failures are skipped and notified until it is fixed"
            );
        }
    }
}

/// One embedded-metric-format line: `metric` counted once, by `dimensions`
/// and in total (an empty dimension set), so alarms can watch the total.
pub fn emf_line(metric: &str, dimensions: &[(&str, &str)], timestamp_ms: i64) -> String {
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimension_sets(dimensions),
                "Metrics": [{ "Name": metric, "Unit": "Count" }],
            }],
        },
        metric: 1,
        "level": METRIC_LEVEL.get().copied().unwrap_or(INFO),
    });
    if let Value::Object(map) = &mut doc {
        for (k, v) in dimensions {
            map.insert((*k).to_owned(), json!(v));
        }
    }
    doc.to_string()
}

/// The dimension sets of a metric: by its dimensions, and in total.
fn dimension_sets(dimensions: &[(&str, &str)]) -> Vec<Vec<String>> {
    let by: Vec<String> = dimensions.iter().map(|(k, _)| (*k).to_owned()).collect();
    if by.is_empty() { vec![by] } else { vec![by, Vec::new()] }
}

static METRICS_TO_STDOUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The `level` every metric line carries: see [`metric_level`].
static METRIC_LEVEL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

const INFO: &str = "INFO";

/// The `level` a metric line carries so that Lambda keeps it at the
/// function's application log level `lambda_level` (`AWS_LAMBDA_LOG_LEVEL`).
/// With the JSON log format Lambda drops a line whose `level` is below that
/// level, and a line without one counts as INFO: at WARN or ERROR every
/// metric (and the alarms on it) would vanish. So a metric line is written
/// at the function's level, and at INFO below it (TRACE, DEBUG, unset or
/// unreadable).
pub fn metric_level(lambda_level: Option<&str>) -> &'static str {
    match lambda_level.map(|l| l.trim().to_ascii_uppercase()).as_deref() {
        Some("WARN" | "WARNING") => "WARN",
        Some("ERROR") => "ERROR",
        Some("FATAL") => "FATAL",
        _ => INFO,
    }
}

/// Turns metric lines on, at the level Lambda keeps for the function's
/// application log level `lambda_level` ([`metric_level`]): the Lambda
/// binaries call it at start-up. Off by default, so that tests and the demo
/// print no EMF lines.
pub fn metrics_to_stdout(lambda_level: Option<&str>) {
    let _ = METRIC_LEVEL.set(metric_level(lambda_level));
    METRICS_TO_STDOUT.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Writes metric lines to stdout, where CloudWatch reads embedded-metric-
/// format lines from a Lambda's log (when turned on by [`metrics_to_stdout`]).
pub fn emit(lines: &[String]) {
    if METRICS_TO_STDOUT.load(std::sync::atomic::Ordering::Relaxed) {
        for line in lines {
            println!("{line}");
        }
    }
}

/// The metric lines for a flow's policy as loaded: a broken policy
/// (`BrokenPolicies`, by flow) and a missing default (`DefaultPolicyMissing`).
pub fn policy_metrics(flow: &str, loaded: &LoadedPolicy, timestamp_ms: i64) -> Vec<String> {
    let mut lines = Vec::new();
    if matches!(loaded.policy.as_ref(), FlowPolicy::Broken(_)) {
        lines.push(emf_line(BROKEN_POLICIES.name, &[("Flow", flow)], timestamp_ms));
    }
    if loaded.default_missing {
        lines.push(emf_line(DEFAULT_POLICY_MISSING.name, &[], timestamp_ms));
    }
    lines
}

/// The metric line for one decision, by its action.
pub fn decision_metric(d: &Decision, timestamp_ms: i64) -> String {
    emf_line(DECISIONS.name, &[("Action", d.action.as_str())], timestamp_ms)
}

/// The metric line for one failed run the reconciliation sweep found with
/// no execution and decided (`SweepRecovered`, by the decision's action).
pub fn sweep_recovered_metric(action: &str, timestamp_ms: i64) -> String {
    emf_line(SWEEP_RECOVERED.name, &[("Action", action)], timestamp_ms)
}

/// Logs a decision conflict (docs/design.md §5.4), as a `warn` line with
/// both decisions: ours (`ours_*`) and the existing execution's (`theirs_*`,
/// or `theirs_unreadable` when its input holds no decision), and the fields
/// that differ.
pub fn decision_conflict(
    execution_name: &str,
    ours: &Decision,
    theirs: &Result<Decision, String>,
    differences: &[Difference],
) {
    // Theirs can be anything up to Step Functions' 256 KiB input: cut to 4 KiB a field.
    let theirs_ok = theirs.as_ref().ok();
    let cut = |s: &str| truncate_message(s).into_owned();
    tracing::warn!(
        flow = %ours.flow,
        execution_id = %ours.execution_id,
        execution_name,
        ours_action = %ours.action,
        ours_attempt = ours.attempt,
        ours_error_class = ours.error_class.as_deref(),
        ours_reason = %ours.reason,
        theirs_action = theirs_ok.map(|t| t.action.as_str()),
        theirs_attempt = theirs_ok.and_then(|t| t.attempt),
        theirs_error_class = theirs_ok.and_then(|t| t.error_class.as_deref()).map(cut),
        theirs_reason = theirs_ok.map(|t| cut(&t.reason)),
        theirs_unreadable = theirs.as_ref().err().map(|e| cut(e)),
        differences = %cut(&serde_json::to_string(differences).unwrap_or_default()),
        "decision conflict: the run's execution holds another decision than this one, and it stands"
    );
}

/// A decision in brief, for an error message: action, attempt, class, reason.
pub fn brief(d: &Decision) -> String {
    format!(
        "{} (attempt {}, class {}): {}",
        d.action,
        d.attempt.map_or_else(|| "null".to_owned(), |a| a.to_string()),
        d.error_class.as_deref().unwrap_or("null"),
        d.reason
    )
}

/// The metric line for a decision conflict (`DecisionConflicts`, by flow and in total).
pub fn decision_conflict_metric(flow: &str, timestamp_ms: i64) -> String {
    emf_line(DECISION_CONFLICTS.name, &[("Flow", flow)], timestamp_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list Terraform's alarms and dashboard are checked against.
    const LISTED: &str = include_str!("../../../terraform/modules/service/metrics.json");

    #[test]
    fn the_metrics_file_lists_exactly_what_the_code_emits() {
        let doc: Value = serde_json::from_str(LISTED).unwrap();
        assert_eq!(doc["namespace"], NAMESPACE);
        let mut listed: Vec<(String, Option<String>)> = doc["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["source"] != "log metric filter")
            .map(|m| {
                (
                    m["name"].as_str().unwrap().to_owned(),
                    m["dimension"].as_str().map(str::to_owned),
                )
            })
            .collect();
        listed.sort();
        let mut code: Vec<(String, Option<String>)> = METRICS
            .iter()
            .map(|m| (m.name.to_owned(), m.dimension.map(str::to_owned)))
            .collect();
        code.sort();
        assert_eq!(listed, code);
    }

    #[test]
    fn each_line_names_its_metric_and_dimension() {
        for (line, metric) in [
            (emf_line(DECISIONS.name, &[("Action", "retry")], 0), DECISIONS),
            (sweep_recovered_metric("retry", 0), SWEEP_RECOVERED),
            (decision_conflict_metric("f", 0), DECISION_CONFLICTS),
        ] {
            let v: Value = serde_json::from_str(&line).unwrap();
            let m = &v["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(m["Metrics"][0]["Name"], metric.name);
            assert_eq!(m["Dimensions"][0][0], metric.dimension.unwrap_or_default());
        }
    }

    #[test]
    fn metric_lines_carry_a_level_lambda_keeps_at_every_application_log_level() {
        // Lambda's application log levels, lowest first; a line is kept when its level is at
        // least the function's.
        const ORDER: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
        let rank = |l: &str| ORDER.iter().position(|o| *o == l).unwrap();
        for configured in ORDER {
            let level = metric_level(Some(configured));
            assert!(rank(level) >= rank(configured), "{configured}: {level}");
            assert!(rank(level) >= rank(INFO), "{configured}: {level}");
            assert_eq!(metric_level(Some(&configured.to_lowercase())), level);
        }
        assert_eq!(metric_level(None), "INFO");
        assert_eq!(metric_level(Some(" nonsense ")), "INFO");
        // A line as written (the process-wide level not set in tests: INFO).
        let v: Value = serde_json::from_str(&emf_line("Decisions", &[], 0)).unwrap();
        assert_eq!(v["level"], "INFO");
    }

    #[test]
    fn emf_lines_are_valid_embedded_metric_format() {
        let line = emf_line("Decisions", &[("Action", "retry")], 1_700_000_000_000);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Action"], []]));
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "Decisions");
        assert_eq!(
            (v["Decisions"].as_i64(), v["Action"].as_str()),
            (Some(1), Some("retry"))
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn decision_conflicts_are_counted_by_flow_and_in_total() {
        let v: Value = serde_json::from_str(&decision_conflict_metric("sf-accounts", 1)).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "AppFlowRetry");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "DecisionConflicts"
        );
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Flow"], []]));
        assert_eq!(
            (v["DecisionConflicts"].as_i64(), v["Flow"].as_str()),
            (Some(1), Some("sf-accounts"))
        );
    }
}
