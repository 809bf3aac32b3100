//! Two decisions for one failed run: the one on-failure has just made, and
//! the one the existing execution of the run's name carries, when
//! StartExecution answers `ExecutionAlreadyExists` (docs/design.md §5.4).
//!
//! Anyone who can call `states:StartExecution` can take a run's execution
//! name first, with a decision of their own. A duplicate delivery of the
//! same event (EventBridge at least once, a redrive, the sweep racing a late
//! event) also meets the existing execution, minutes or hours later, and may
//! decide differently only because time has passed. [`compare`] tells the
//! two apart on what time cannot change:
//!
//! - always the run's identity: `flow` and `execution_id`;
//! - for a decision made by a rule whose facts never change ([`Footing::Fixed`]:
//!   the policy, the class, the failed run's own record, the failures before
//!   it) the action, `error_class`, `attempt`, `notify` and, for a restart,
//!   `delay_seconds` (seeded by the execution id: a duplicate draws the same);
//! - for a decision made because time has passed (our side only: the
//!   existing decision is the one that cannot be trusted) only what the
//!   earlier decision must have shared with it, see [`Footing`].
//!
//! The rules are monotone in time: a window that has passed stays passed, a
//! newer run stays newer, a deleted flow stays deleted. So an honest earlier
//! decision differs from ours only where ours rests on one of those facts.
//! Not compared: `reason` (the sweep's says so), `policy`, `max_retries`,
//! `notify_on` and `failed_run_started_at` (the event's time or the
//! record's; the restart checks it against the record, §6.8). A policy edit
//! between two deliveries of one event can so show as a conflict: the
//! earlier decision stands, and a person is told.

use serde::Serialize;

use crate::decide::Decision;
use crate::model::Action;

/// How our decision depends on the time it was made at, read from the reason
/// the rules wrote (the tests pin each rule's reason to its footing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Footing {
    /// Rules whose facts do not change with time: an earlier decision was the same.
    Fixed,
    /// Rule 6's newer run (or R6's run after the deactivation): it may have
    /// started after an earlier decision (the restart's own run). The
    /// earlier decision shared the class, its action and attempt may differ.
    Superseded,
    /// Rules 9 and 11 (or R9 and R10): the window has passed now. The
    /// earlier decision shared the class and the attempt, and was a give-up
    /// or the restart (`retry`, for a deactivation `reactivate`) with any delay.
    WindowPassed(Action),
    /// Rule 6 (or R5): the flow no longer exists; it did before. Only the
    /// identity is compared.
    FlowGone,
}

/// Reasons of the rules whose answer changes with time, and their footing:
/// each begins a reason the rules write (docs/design.md §4).
const TIME_DEPENDENT: &[(&str, Footing)] = &[
    ("superseded: ", Footing::Superseded),
    ("the failure streak began ", Footing::WindowPassed(Action::Retry)),
    ("a restart after ", Footing::WindowPassed(Action::Retry)),
    ("the flow no longer exists", Footing::FlowGone),
    ("the flow ran after it was deactivated", Footing::Superseded),
    (
        "the flow stays deactivated: its failure streak began ",
        Footing::WindowPassed(Action::Reactivate),
    ),
    (
        "the flow stays deactivated: a re-activation after ",
        Footing::WindowPassed(Action::Reactivate),
    ),
];

/// The footing of a decision the rules made, by its reason (without a
/// prefix the caller added, such as the sweep's).
pub fn footing(reason: &str) -> Footing {
    TIME_DEPENDENT
        .iter()
        .find(|(start, _)| reason.starts_with(start))
        .map_or(Footing::Fixed, |(_, f)| *f)
}

/// One field in which the two decisions differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The decision's key (`action`, `attempt`, ...), or `input` when the
    /// existing execution holds no readable decision.
    pub field: &'static str,
    /// Ours, as JSON.
    pub ours: String,
    /// The existing execution's, as JSON.
    pub theirs: String,
}

/// What the existing execution's decision is, compared with ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// The same decision, or one an earlier delivery of this failure could
    /// have made: a duplicate, already handled.
    Duplicate,
    /// Someone else's decision stands for this run: the differences.
    Conflict(Vec<Difference>),
}

/// The decision in a state machine input (docs/design.md §5.4): its
/// `decision` key, which must be a whole §4 object.
pub fn decision_of_input(input: &str) -> Result<Decision, String> {
    let v: serde_json::Value = serde_json::from_str(input).map_err(|e| format!("input is not JSON: {e}"))?;
    let d = v.get("decision").ok_or_else(|| "input has no decision".to_owned())?;
    serde_json::from_value(d.clone()).map_err(|e| format!("input's decision is not a decision: {e}"))
}

/// Compares our decision (made by the rules, with footing `ours_footing`)
/// with the existing execution's (`theirs`: its input's decision, or why
/// none could be read from it).
pub fn compare(ours: &Decision, ours_footing: Footing, theirs: &Result<Decision, String>) -> Comparison {
    let theirs = match theirs {
        Ok(t) => t,
        Err(why) => {
            return Comparison::Conflict(vec![Difference {
                field: "input",
                ours: "a decision".into(),
                theirs: json(why),
            }]);
        }
    };
    let mut d = Differences(Vec::new());
    d.check("flow", &ours.flow, &theirs.flow);
    d.check("execution_id", &ours.execution_id, &theirs.execution_id);
    match ours_footing {
        Footing::Fixed => {
            d.check("action", &ours.action, &theirs.action);
            d.check("error_class", &ours.error_class, &theirs.error_class);
            d.check("attempt", &ours.attempt, &theirs.attempt);
            if matches!(ours.action, Action::Retry | Action::Reactivate) {
                d.check("delay_seconds", &ours.delay_seconds, &theirs.delay_seconds);
            }
        }
        Footing::Superseded => {
            d.check("error_class", &ours.error_class, &theirs.error_class);
        }
        Footing::WindowPassed(restart) => {
            if theirs.action != ours.action && theirs.action != restart {
                d.check("action", &ours.action, &theirs.action);
            }
            d.check("error_class", &ours.error_class, &theirs.error_class);
            d.check("attempt", &ours.attempt, &theirs.attempt);
        }
        Footing::FlowGone => {}
    }
    // The same action under the same policy is told the same way.
    if ours_footing != Footing::FlowGone && ours.action == theirs.action {
        d.check("notify", &ours.notify, &theirs.notify);
    }
    if d.0.is_empty() {
        Comparison::Duplicate
    } else {
        Comparison::Conflict(d.0)
    }
}

struct Differences(Vec<Difference>);

impl Differences {
    fn check<T: Serialize + PartialEq>(&mut self, field: &'static str, ours: &T, theirs: &T) {
        if ours != theirs {
            self.0.push(Difference {
                field,
                ours: json(ours),
                theirs: json(theirs),
            });
        }
    }
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A one-line account of the differences: `action: ours "skip", theirs "retry"; ...`.
pub fn describe(differences: &[Difference]) -> String {
    differences
        .iter()
        .map(|d| format!("{}: ours {}, theirs {}", d.field, d.ours, d.theirs))
        .collect::<Vec<_>>()
        .join("; ")
}
