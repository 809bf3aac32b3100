//! `appflow-retry explain`: the decision for one event and history, as the
//! Lambda would make it.

use std::path::Path;

use appflow_retry_policy::appflow::is_deactivation;
use appflow_retry_policy::{
    DeactivationEvent, Decision, Diagnostic, EventError, FailureEvent, Position, RunRecord, SplitMix64, TriggerType,
    Validated, decide, decide_reactivation, parse_history, seed_for,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::CliError;
use crate::files::read_json;
use crate::plan::{Notes, ungoverned_note};
use crate::validate::validate_dir;

/// What `explain` needs besides the files.
#[derive(Debug, Clone, Copy)]
pub struct ExplainOptions {
    /// The time the decision is made at (`--now`; the command's default is the current time).
    pub now: DateTime<Utc>,
    /// Replaces the seed derived from the execution id.
    pub seed: Option<u64>,
    /// For a deactivation event: the flow's deactivation threshold.
    pub threshold: Option<u32>,
}

/// The deactivation threshold in what `aws appflow describe-flow` printed:
/// `triggerConfig.triggerProperties.Scheduled.flowErrorDeactivationThreshold`,
/// 1 for an event flow; None when it says neither.
pub fn threshold_from_describe_flow(doc: &Value) -> Option<u32> {
    let config = doc.get("triggerConfig")?;
    if config
        .get("triggerType")
        .and_then(Value::as_str)
        .map(TriggerType::parse)
        == Some(TriggerType::Event)
    {
        return Some(1);
    }
    config
        .pointer("/triggerProperties/Scheduled/flowErrorDeactivationThreshold")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// One note per policy file whose flow cannot be read (docs/design.md §4,
/// policy resolution): it may be `flow`'s file, so `flow` fails closed as
/// the Lambda would with that text as its parameter. Shown with the
/// problems, after them.
pub fn unattributed_notes(validated: &Validated, flow: &str) -> Vec<Diagnostic> {
    validated
        .unattributed
        .iter()
        .map(|file| Diagnostic {
            file: file.clone(),
            position: Position::START,
            message: format!(
                "cannot be read far enough to know which flow it governs (its name does not decide: `flow:` does), so it may be flow {flow}'s: as the Lambda with this text as the flow's parameter, {flow} is not restarted (skip, notified) until the file is fixed"
            ),
        })
        .collect()
}

/// The decision as the Lambda makes it, and every policy problem found.
/// Policies fail closed as in the Lambda: a flow whose file (or default)
/// is broken decides a notified skip. A failure the Lambda would not decide
/// yet (its record missing or not final) is an error naming why. A
/// deactivation event ("AppFlow Scheduled/Event Flow Deactivated") is
/// decided by the re-activation rules with `opts.threshold`. A flow file
/// whose flow cannot be read makes every flow fail closed: it may be any
/// flow's (the Lambda would read it under that flow's parameter).
pub fn explain(
    event: &Path,
    history: &Path,
    policies: &Path,
    opts: ExplainOptions,
) -> Result<(Decision, Notes), CliError> {
    let event_json = read_json(event)?;
    let in_event = |e: EventError| CliError(format!("{}: {e}", event.display()));
    if is_deactivation(&event_json) {
        let (event, _) = DeactivationEvent::parse(&event_json).map_err(in_event)?;
        let records = read_records(history)?;
        let validated = validate_dir(policies)?;
        let policy = validated.resolve(&event.flow_name);
        let mut rng = SplitMix64::new(opts.seed.unwrap_or_else(|| seed_for(&event.deactivation_id())));
        // As the Lambda: an unknown threshold counts as 1.
        let threshold = opts.threshold.unwrap_or(1);
        let decision = decide_reactivation(&event, &policy, &records, threshold, opts.now, &mut rng);
        let notes = unattributed_notes(&validated, &event.flow_name);
        return Ok((decision, explain_notes(validated, notes, &event.flow_name, policies)));
    }
    let event = FailureEvent::from_json(&event_json).map_err(in_event)?;
    let records = read_records(history)?;
    let validated = validate_dir(policies)?;
    let policy = validated.resolve(&event.flow_name);
    let mut rng = SplitMix64::new(opts.seed.unwrap_or_else(|| seed_for(&event.execution_id)));
    let decision = decide(&event, &records, &policy, opts.now, &mut rng)
        .map_err(|e| CliError(format!("no decision ({}): {e}", e.error_type())))?;
    let notes = unattributed_notes(&validated, &event.flow_name);
    Ok((decision, explain_notes(validated, notes, &event.flow_name, policies)))
}

fn explain_notes(validated: Validated, unattributed: Vec<Diagnostic>, flow: &str, policies: &Path) -> Notes {
    Notes {
        notes: ungoverned_note(&validated, flow, policies).into_iter().collect(),
        diagnostics: [validated.diagnostics, unattributed].concat(),
    }
}

/// The run records in what `aws appflow describe-flow-execution-records` printed.
fn read_records(history: &Path) -> Result<Vec<RunRecord>, CliError> {
    parse_history(&read_json(history)?).map_err(|e| CliError(format!("{}: {e}", history.display())))
}
