//! `appflow-retry plan`: a flow's restart schedule as a table or JSON.

use std::fmt::Write as _;
use std::path::Path;

use appflow_retry_policy::classify::{BUILTIN_CLASSES, UNKNOWN, is_builtin};
use appflow_retry_policy::plan::{ReactivationSchedule, Schedule, reactivation_schedule, schedule};
use appflow_retry_policy::validate::suggest::suggest;
use appflow_retry_policy::{Diagnostic, Duration, FlowPolicy, PlanOutcome, Validated};
use serde::Serialize;

use crate::CliError;
use crate::validate::validate_dir;

/// How the flow runs (`--trigger`): only an on-demand flow can be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// Run by StartFlow (or by hand): a failed run is restarted per the policy.
    OnDemand,
    /// Run on a schedule: never restarted (StartFlow only re-activates it).
    Scheduled,
    /// Run by an event: never restarted, as a scheduled flow.
    Event,
}

/// A flow's schedule with where its policy came from.
#[derive(Debug, Serialize)]
pub struct FlowPlan {
    /// The AppFlow flow planned for.
    pub flow: String,
    /// How the flow runs: a scheduled or event flow is never restarted, and
    /// its `restarts` are empty.
    pub trigger: Trigger,
    /// The flow file's path, or `default` when the flow has no file.
    pub policy: String,
    /// The restart schedule for failures of the class asked for (flattened into the JSON).
    #[serde(flatten)]
    pub schedule: Schedule,
    /// Classes with their own settings, and classes never restarted.
    pub overridden_classes: Vec<String>,
    /// Classes never restarted: the policy's `skip_errors`.
    pub skipped_classes: Vec<String>,
    /// When `reactivate.enabled`: what happens when AppFlow deactivates the
    /// flow (scheduled and event flows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactivation: Option<ReactivationSchedule>,
    /// Every class's restarts on one time axis (the table only; not in the JSON).
    #[serde(skip)]
    pub timeline: Vec<crate::timeline::Row>,
}

/// One row per group of classes with the same schedule: a mark at each
/// restart (jitter aside), the bar at the window's end.
fn timeline_rows(p: &appflow_retry_policy::Policy) -> Vec<crate::timeline::Row> {
    let custom = p.error_classes.iter().map(|c| c.name.as_str());
    let names = BUILTIN_CLASSES.iter().map(|b| b.name).chain([UNKNOWN]).chain(custom);
    let mut rows: Vec<crate::timeline::Row> = Vec::new();
    for name in names {
        let s = schedule(p, Some(name));
        let mut marks = Vec::new();
        let mut at = 0u64;
        for r in &s.restarts {
            at += r.base_delay_seconds;
            marks.push(at);
        }
        let (end, note) = if s.restarts.is_empty() && s.end.outcome == PlanOutcome::Skip {
            (None, "never restarted (skip)".to_owned())
        } else if s.restarts.is_empty() {
            (None, "no restart: give up at once".to_owned())
        } else {
            (
                Some(s.retry_window_seconds),
                format!("failure {}: give up", s.end.failure),
            )
        };
        // Classes that behave alike share a row.
        match rows
            .iter_mut()
            .find(|r| r.marks == marks && r.end == end && r.note == note)
        {
            Some(row) => {
                row.label.push_str(", ");
                row.label.push_str(name);
            }
            None => rows.push(crate::timeline::Row {
                label: name.to_owned(),
                marks,
                glyph: '*',
                end,
                note,
            }),
        }
    }
    rows
}

/// What `plan` and `explain` say besides their answer: the policy problems
/// that made files fall back, and notes for the reader (stderr).
#[derive(Debug, Default)]
pub struct Notes {
    /// Problems of the policy files.
    pub diagnostics: Vec<Diagnostic>,
    /// Notes: a flow no file governs (a typo?), with the nearest flow name.
    pub notes: Vec<String>,
}

/// The note for a flow no file governs: the default applies, which is right
/// for a flow without a file of its own and wrong for a misspelt name. None
/// when a file governs it (usable or broken).
pub fn ungoverned_note(validated: &Validated, flow: &str, policies: &Path) -> Option<String> {
    if validated.set.flows.contains_key(flow) || validated.broken_flows.contains_key(flow) {
        return None;
    }
    let names = validated
        .set
        .flows
        .keys()
        .chain(validated.broken_flows.keys())
        .map(String::as_str);
    let near = suggest(flow, names)
        .map(|n| format!("; did you mean {n}?"))
        .unwrap_or_default();
    Some(format!(
        "no file in {} governs flow {flow}: the default applies{near}",
        policies.join("flows").display()
    ))
}

/// The plan for `flow`, and what to tell besides it.
pub fn plan(
    flow: &str,
    policies: &Path,
    class: Option<&str>,
    trigger: Option<Trigger>,
) -> Result<(FlowPlan, Notes), CliError> {
    let validated = validate_dir(policies)?;
    let resolved = match validated.resolve(flow) {
        FlowPolicy::Usable(p) => p,
        FlowPolicy::Broken(b) if validated.unattributed.contains(&b.source) => {
            return Err(CliError(format!(
                "flow {flow}: {} cannot be read far enough to know which flow it governs, so it may be {flow}'s: as the Lambda would with that text as the flow's parameter, its failures are skipped (and notified) until the file is fixed: {}",
                b.source,
                b.summary()
            )));
        }
        FlowPolicy::Broken(b) => {
            return Err(CliError(format!(
                "flow {flow}: its policy cannot be used, so its failures are skipped (and notified) until it is fixed: {}",
                b.summary()
            )));
        }
    };
    let p = &resolved.policy;
    if let Some(c) = class {
        let known = is_builtin(c) || p.error_classes.iter().any(|e| e.name.as_str() == c);
        if !known {
            let mut classes: Vec<&str> = BUILTIN_CLASSES.iter().map(|b| b.name).collect();
            classes.push(UNKNOWN);
            classes.extend(p.error_classes.iter().map(|e| e.name.as_str()));
            let near = suggest(c, classes.iter().copied())
                .map(|n| format!("; did you mean \"{n}\"?"))
                .unwrap_or_default();
            return Err(CliError(format!(
                "unknown error class \"{c}\" for flow {flow}{near} (its classes: {})",
                classes.join(", ")
            )));
        }
    }
    let mut notes: Vec<String> = ungoverned_note(&validated, flow, policies).into_iter().collect();
    if trigger.is_none() && p.reactivate.enabled {
        notes.push(format!(
            "reactivate.enabled suggests {flow} is a scheduled or event flow, which is never restarted: give --trigger scheduled (or event) to see what happens to its failed runs"
        ));
    }
    let trigger = trigger.unwrap_or(Trigger::OnDemand);
    let mut schedule = schedule(p, class);
    if trigger != Trigger::OnDemand {
        schedule.restarts.clear();
    }
    Ok((
        FlowPlan {
            flow: flow.to_owned(),
            trigger,
            policy: resolved.source.clone(),
            schedule,
            overridden_classes: p.overrides.keys().map(|k| k.as_str().to_owned()).collect(),
            skipped_classes: p.skip_errors.iter().map(|k| k.as_str().to_owned()).collect(),
            reactivation: reactivation_schedule(p, class),
            timeline: if trigger == Trigger::OnDemand {
                timeline_rows(p)
            } else {
                Vec::new()
            },
        },
        Notes {
            diagnostics: validated.diagnostics,
            notes,
        },
    ))
}

fn dur(secs: u64) -> String {
    Duration::from_secs(secs).to_string()
}

/// The plan as a table for people, `width` characters wide at most (the timeline).
pub fn render(plan: &FlowPlan, width: usize) -> String {
    let s = &plan.schedule;
    let b = &s.backoff;
    let mut out = String::new();
    let class = s
        .class
        .as_deref()
        .map_or_else(|| "any class without an override".to_owned(), |c| format!("class {c}"));
    let _ = writeln!(out, "flow {} ({class}), policy {}", plan.flow, plan.policy);
    if plan.trigger != Trigger::OnDemand {
        let kind = if plan.trigger == Trigger::Scheduled {
            "a scheduled"
        } else {
            "an event"
        };
        let _ = writeln!(
            out,
            "{kind} flow: AppFlow cannot re-run it on demand (StartFlow only re-activates it), so a failed run is never restarted: it is skipped, and notified when notify has skip"
        );
        match &plan.reactivation {
            Some(r) => render_reactivation(&mut out, r),
            None => {
                let _ = writeln!(
                    out,
                    "When AppFlow deactivates it, a person is told and it stays off (reactivate.enabled is false)."
                );
            }
        }
        return out;
    }
    let _ = writeln!(
        out,
        "max_retries {} within retry_window {}; backoff {}",
        s.max_retries,
        dur(s.retry_window_seconds),
        backoff_text(b),
    );
    if !s.restarts.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:>7}  {:>10}  {:>15}  {:>9}  {:>9}  outcome",
            "restart", "base delay", "delay range", "earliest", "latest"
        );
        for r in &s.restarts {
            let range = format!("{} - {}", dur(r.min_delay_seconds), dur(r.max_delay_seconds));
            let outcome = match r.outcome {
                PlanOutcome::Retry => "restart",
                _ => "restart, or give up if jitter lands it past the window",
            };
            let _ = writeln!(
                out,
                "{:>7}  {:>10}  {:>15}  {:>9}  {:>9}  {outcome}",
                r.attempt,
                dur(r.base_delay_seconds),
                range,
                format!("+{}", dur(r.earliest_offset_seconds)),
                format!("+{}", dur(r.latest_offset_seconds)),
            );
        }
    }
    let verb = if s.end.outcome == PlanOutcome::Skip {
        "skip"
    } else {
        "give up"
    };
    let _ = writeln!(out, "\nfailure {}: {verb} ({})", s.end.failure, s.end.reason);
    if !s.restarts.is_empty() {
        let _ = writeln!(
            out,
            "Times count from the first failure and assume each restarted run fails at once."
        );
    }
    if s.class.is_none() {
        if !plan.overridden_classes.is_empty() {
            let _ = writeln!(
                out,
                "Classes with their own settings (see --class): {}",
                plan.overridden_classes.join(", ")
            );
        }
        if !plan.skipped_classes.is_empty() {
            let _ = writeln!(out, "Never restarted: {}", plan.skipped_classes.join(", "));
        }
    }
    if plan.timeline.iter().any(|r| r.end.is_some()) {
        let _ = writeln!(
            out,
            "\nEvery class (* restart, jitter aside; 2-9: restarts in a column; | window end):"
        );
        out.push_str(&crate::timeline::render(&plan.timeline, width));
    }
    if let Some(r) = &plan.reactivation {
        render_reactivation(&mut out, r);
    }
    out
}

/// A backoff as both schedules print it: `exponential from 30s ×2, cap 15m, jitter full`.
fn backoff_text(b: &appflow_retry_policy::Backoff) -> String {
    let multiplier = if b.strategy == appflow_retry_policy::Strategy::Exponential {
        format!(" ×{}", b.multiplier)
    } else {
        String::new()
    };
    format!(
        "{} from {}{multiplier}, cap {}, jitter {}",
        b.strategy.as_str(),
        b.initial_delay,
        b.max_delay,
        b.jitter.as_str()
    )
}

/// The re-activation schedule, after the restart schedule.
fn render_reactivation(out: &mut String, r: &ReactivationSchedule) {
    let b = &r.backoff;
    let _ = writeln!(
        out,
        "
When AppFlow deactivates this flow (scheduled and event flows): max_reactivations {} within retry_window {}; backoff {}",
        r.max_reactivations,
        dur(r.retry_window_seconds),
        backoff_text(b),
    );
    if !r.reactivations.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:>12}  {:>10}  {:>15}  outcome",
            "deactivation", "base delay", "delay range"
        );
        for p in &r.reactivations {
            let range = format!("{} - {}", dur(p.min_delay_seconds), dur(p.max_delay_seconds));
            let _ = writeln!(
                out,
                "{:>12}  {:>10}  {:>15}  re-activate",
                p.deactivation,
                dur(p.base_delay_seconds),
                range
            );
        }
    }
    let verb = if r.end.outcome == PlanOutcome::Skip {
        "skip"
    } else {
        "give up"
    };
    let _ = writeln!(
        out,
        "deactivation {}: {verb}, the flow stays off and a person is told ({})",
        r.end.failure, r.end.reason
    );
}
