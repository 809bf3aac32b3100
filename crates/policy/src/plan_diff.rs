//! What a policy change does: a flow's behaviour per error class before and
//! after, as `appflow-retry plan --diff` shows it. Behaviour, not text: a
//! change that only reformats a file, or moves a setting from a flow file to
//! the default without changing what applies, changes nothing here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::Duration;
use crate::classify::{BUILTIN_CLASSES, UNKNOWN};
use crate::model::{Action, Policy};
use crate::outcome::PlanOutcome;
use crate::plan::{reactivation_schedule, schedule};

/// What a policy does with a failed on-demand run of one error class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassBehaviour {
    /// Restarts at most (the schedule's length: `max_retries`, or fewer
    /// when the window runs out first); 0 with `skipped` false: given up at once.
    pub restarts: u32,
    /// The delay before each restart, jitter aside, in seconds.
    pub base_delays_seconds: Vec<u64>,
    /// When the last restart happens at the latest, from the first failure.
    pub covered_seconds: u64,
    /// The class's `retry_window`, in seconds.
    pub retry_window_seconds: u64,
    /// Never restarted: the flow is disabled or the class is in `skip_errors`.
    pub skipped: bool,
}

impl ClassBehaviour {
    fn of(policy: &Policy, class: &str) -> ClassBehaviour {
        let s = schedule(policy, Some(class));
        let skipped = s.restarts.is_empty() && s.end.outcome == PlanOutcome::Skip;
        // Never restarted: the window no longer matters, so a window change
        // alone is no change in behaviour.
        let window = if s.restarts.is_empty() {
            0
        } else {
            s.retry_window_seconds
        };
        ClassBehaviour {
            restarts: u32::try_from(s.restarts.len()).unwrap_or(u32::MAX),
            base_delays_seconds: s.restarts.iter().map(|r| r.base_delay_seconds).collect(),
            covered_seconds: s.restarts.last().map_or(0, |r| r.latest_offset_seconds),
            retry_window_seconds: window,
            skipped,
        }
    }

    /// `5 restarts over 15m30s (30s, 1m, 2m, 4m, 8m) in a 2h window`, `skipped (never
    /// restarted)`, `given up at once (max_retries 0)`.
    pub fn text(&self) -> String {
        if self.skipped {
            return "skipped (never restarted)".to_owned();
        }
        if self.restarts == 0 {
            return "given up at once (no restart)".to_owned();
        }
        let delays: Vec<String> = self.base_delays_seconds.iter().map(|s| dur(*s)).collect();
        let delays = if delays.len() <= 6 {
            delays.join(", ")
        } else {
            format!(
                "{}, {}, … {}",
                delays[0],
                delays[1],
                delays.last().map_or("", String::as_str)
            )
        };
        format!(
            "{} over {} ({delays}) in a {} window",
            plural(self.restarts, "restart"),
            dur(self.covered_seconds),
            dur(self.retry_window_seconds)
        )
    }
}

/// What a policy does with a deactivated scheduled or event flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReactivationBehaviour {
    /// Re-activations at most (`reactivate.max_reactivations`); None: `reactivate.enabled` is false.
    pub reactivations: Option<u32>,
    /// The delay before each, jitter aside, in seconds.
    pub base_delays_seconds: Vec<u64>,
}

impl ReactivationBehaviour {
    fn of(policy: &Policy) -> ReactivationBehaviour {
        match reactivation_schedule(policy, None) {
            Some(r) if policy.enabled => ReactivationBehaviour {
                reactivations: Some(r.max_reactivations),
                base_delays_seconds: r.reactivations.iter().map(|p| p.base_delay_seconds).collect(),
            },
            _ => ReactivationBehaviour {
                reactivations: None,
                base_delays_seconds: Vec::new(),
            },
        }
    }

    /// `off (a person is told)` or `3 re-activations (5m, 10m, 20m)`.
    pub fn text(&self) -> String {
        match self.reactivations {
            None => "off (the flow stays deactivated, a person is told)".to_owned(),
            Some(n) => {
                let delays: Vec<String> = self.base_delays_seconds.iter().map(|s| dur(*s)).collect();
                format!("{} ({})", plural(n, "re-activation"), delays.join(", "))
            }
        }
    }
}

/// A flow's behaviour: per error class, whom it tells, and re-activation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowBehaviour {
    /// Every class a failure can fall into: the built-in ones, `unknown`
    /// and the policy's custom classes, by name.
    pub classes: BTreeMap<String, ClassBehaviour>,
    /// The outcomes a person is told about.
    pub notify: Vec<Action>,
    /// What happens when AppFlow deactivates the flow.
    pub reactivation: ReactivationBehaviour,
}

impl FlowBehaviour {
    /// The behaviour of an effective policy.
    pub fn of(policy: &Policy) -> FlowBehaviour {
        let custom = policy.error_classes.iter().map(|c| c.name.as_str());
        let names = BUILTIN_CLASSES.iter().map(|b| b.name).chain([UNKNOWN]).chain(custom);
        let mut notify = policy.notify.clone();
        notify.sort();
        notify.dedup();
        FlowBehaviour {
            classes: names.map(|n| (n.to_owned(), ClassBehaviour::of(policy, n))).collect(),
            notify,
            reactivation: ReactivationBehaviour::of(policy),
        }
    }
}

/// How a flow's policy reads on one side of the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// A usable policy.
    Policy(Box<FlowBehaviour>),
    /// The flow's policy cannot be used (its file, or the default, has
    /// problems): every failure is skipped and notified.
    Broken,
}

/// One line of a flow's difference: what changes, before → after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What it is about: `every class`, a list of classes, `notify`, `re-activation`, `policy`.
    pub subject: String,
    /// Before, in words.
    pub before: String,
    /// After, in words.
    pub after: String,
}

/// The differences between two sides of one flow, in reading order: the
/// classes (grouped when they change alike), then notify, then re-activation.
/// Empty: the flow behaves the same.
pub fn compare(before: &Side, after: &Side) -> Vec<Change> {
    let (b, a) = match (before, after) {
        (Side::Policy(b), Side::Policy(a)) => (b, a),
        (Side::Broken, Side::Broken) => return Vec::new(),
        _ => {
            let text = |s: &Side| match s {
                Side::Broken => "broken: every failure skipped and notified".to_owned(),
                Side::Policy(_) => "usable".to_owned(),
            };
            return vec![Change {
                subject: "policy".to_owned(),
                before: text(before),
                after: text(after),
            }];
        }
    };
    let mut out = Vec::new();
    // Group the classes that change from the same text to the same text.
    let names: Vec<&String> = {
        let mut n: Vec<&String> = b.classes.keys().chain(a.classes.keys()).collect();
        n.sort_by_key(|name| class_order(name));
        n.dedup();
        n
    };
    let absent = "not a class on this side (its failures fall into the built-in classes)";
    let mut groups: Vec<(String, String, Vec<&str>)> = Vec::new();
    for name in &names {
        let was = b
            .classes
            .get(*name)
            .map_or_else(|| absent.to_owned(), ClassBehaviour::text);
        let now = a
            .classes
            .get(*name)
            .map_or_else(|| absent.to_owned(), ClassBehaviour::text);
        if b.classes.get(*name) == a.classes.get(*name) {
            continue;
        }
        match groups.iter_mut().find(|(w, n, _)| *w == was && *n == now) {
            Some((_, _, classes)) => classes.push(name.as_str()),
            None => groups.push((was, now, vec![name.as_str()])),
        }
    }
    for (was, now, classes) in groups {
        let subject = if classes.len() == names.len() {
            "every class".to_owned()
        } else {
            classes.join(", ")
        };
        out.push(Change {
            subject,
            before: was,
            after: now,
        });
    }
    if b.notify != a.notify {
        let list = |n: &[Action]| {
            if n.is_empty() {
                "nobody".to_owned()
            } else {
                n.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        out.push(Change {
            subject: "notify".to_owned(),
            before: list(&b.notify),
            after: list(&a.notify),
        });
    }
    if b.reactivation != a.reactivation {
        out.push(Change {
            subject: "re-activation".to_owned(),
            before: b.reactivation.text(),
            after: a.reactivation.text(),
        });
    }
    out
}

/// Built-in classes in their table's order, then `unknown`, then custom ones by name.
fn class_order(name: &str) -> (usize, String) {
    let i = BUILTIN_CLASSES
        .iter()
        .position(|b| b.name == name)
        .unwrap_or(if name == UNKNOWN {
            BUILTIN_CLASSES.len()
        } else {
            BUILTIN_CLASSES.len() + 1
        });
    (i, name.to_owned())
}

fn dur(secs: u64) -> String {
    Duration::from_secs(secs).to_string()
}

fn plural(n: u32, what: &str) -> String {
    let mut s = String::new();
    let _ = write!(s, "{n} {what}{}", if n == 1 { "" } else { "s" });
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::model::PolicyFile;

    fn policy(yaml: &str) -> Policy {
        let file: PolicyFile = serde_yaml::from_str(yaml).unwrap();
        let mut p = Policy::default();
        p.apply(&file);
        p
    }

    fn side(yaml: &str) -> Side {
        Side::Policy(Box::new(FlowBehaviour::of(&policy(yaml))))
    }

    #[test]
    fn the_same_behaviour_written_differently_is_no_change() {
        let a = side("max_retries: 3\nbackoff: {initial_delay: 1m}\n");
        let b = side("# reformatted\nbackoff:\n  initial_delay: 60s\nmax_retries: 3\n");
        assert_eq!(compare(&a, &b), Vec::new());
    }

    #[test]
    fn fewer_retries_for_every_class_is_one_line() {
        let before = side(
            "max_retries: 5\nretry_window: 2h\nbackoff: {strategy: exponential, initial_delay: 30s, multiplier: 2, max_delay: 1h, jitter: none}\n",
        );
        let after = side(
            "max_retries: 4\nretry_window: 2h\nbackoff: {strategy: exponential, initial_delay: 30s, multiplier: 2, max_delay: 1h, jitter: none}\n",
        );
        let changes = compare(&before, &after);
        assert_eq!(changes.len(), 1, "{changes:?}");
        // auth, permission and config are skipped by the built-in default.
        assert_eq!(changes[0].subject, "throttling, transient, unknown");
        assert_eq!(
            changes[0].before,
            "5 restarts over 15m30s (30s, 1m, 2m, 4m, 8m) in a 2h window"
        );
        assert_eq!(
            changes[0].after,
            "4 restarts over 7m30s (30s, 1m, 2m, 4m) in a 2h window"
        );
    }

    #[test]
    fn a_class_override_and_a_skip_are_their_own_lines() {
        let before = side("max_retries: 2\nbackoff: {initial_delay: 1m, jitter: none, strategy: fixed}\n");
        let after = side(
            "max_retries: 2\nbackoff: {initial_delay: 1m, jitter: none, strategy: fixed}\nskip_errors: [auth, transient]\noverrides:\n  throttling: {max_retries: 1}\n",
        );
        let changes = compare(&before, &after);
        let subjects: Vec<&str> = changes.iter().map(|c| c.subject.as_str()).collect();
        // skip_errors replaces the built-in list (auth, permission, config):
        // the diff shows what a reader of the file alone would miss.
        assert_eq!(
            subjects,
            ["throttling", "permission, config", "transient"],
            "{changes:?}"
        );
        assert_eq!(changes[1].after, "2 restarts over 2m (1m, 1m) in a 6h window");
        assert_eq!(changes[2].after, "skipped (never restarted)");
        assert_eq!(changes[0].before, "2 restarts over 2m (1m, 1m) in a 6h window");
        assert_eq!(changes[0].after, "1 restart over 1m (1m) in a 6h window");
    }

    #[test]
    fn notify_and_reactivation_changes_are_named() {
        let before = side("notify: [give_up]\n");
        let after = side(
            "notify: [give_up, skip]\nreactivate: {enabled: true, max_reactivations: 2, backoff: {initial_delay: 5m, multiplier: 2, jitter: none}}\n",
        );
        let changes = compare(&before, &after);
        let subjects: Vec<&str> = changes.iter().map(|c| c.subject.as_str()).collect();
        assert_eq!(subjects, ["notify", "re-activation"]);
        assert_eq!(changes[0].before, "give_up");
        assert_eq!(changes[0].after, "give_up, skip");
        assert!(changes[1].before.starts_with("off"), "{changes:?}");
        assert_eq!(changes[1].after, "2 re-activations (5m, 10m)");
    }

    #[test]
    fn a_policy_that_breaks_or_mends_is_one_line() {
        let ok = side("max_retries: 1\n");
        let changes = compare(&ok, &Side::Broken);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].subject, "policy");
        assert!(changes[0].after.starts_with("broken"));
        assert_eq!(compare(&Side::Broken, &Side::Broken), Vec::new());
    }

    #[test]
    fn a_longer_window_alone_is_a_change_but_not_for_skipped_classes() {
        let changes = compare(&side("retry_window: 1h\n"), &side("retry_window: 2h\n"));
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].subject, "throttling, transient, unknown");
        assert!(changes[0].before.ends_with("in a 1h window"), "{changes:?}");
        assert!(changes[0].after.ends_with("in a 2h window"), "{changes:?}");
    }

    #[test]
    fn disabling_a_flow_skips_every_class() {
        let changes = compare(&side("max_retries: 0\n"), &side("enabled: false\n"));
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].before, "given up at once (no restart)");
        assert_eq!(changes[0].after, "skipped (never restarted)");
    }
}
