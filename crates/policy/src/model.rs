//! The policy model: what a file may say ([`PolicyFile`], every field
//! optional) and what is in force for one flow ([`Policy`], every field set).
//!
//! Layering: built-in defaults ← `default.yaml` ← the flow's file. Maps merge
//! key by key (`backoff`, `overrides` and each override's `backoff`); scalars
//! and lists (`skip_errors`, `error_classes`, `notify`) replace.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// AppFlow's own rule for flow names.
pub const FLOW_NAME_PATTERN: &str = r"^[a-zA-Z0-9][\w!@#.-]+$";
/// Names of error classes, custom or built-in.
pub const CLASS_NAME_PATTERN: &str = r"^[a-z][a-z0-9_]{0,62}$";

/// One policy file: `policies/default.yaml` or a file under `policies/flows/`.
/// A field left out inherits from the layer below.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "appflow-retry policy")]
pub struct PolicyFile {
    /// The AppFlow flow this file governs. Required in files under `flows/`,
    /// not allowed in `default.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256), regex(pattern = FLOW_NAME_PATTERN))]
    pub flow: Option<String>,

    /// `false`: never restart this flow (outcome `skip`, notified if `notify` has `skip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,

    /// Restarts allowed within one `retry_window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_retries: Option<u32>,

    /// Failures older than this start a new streak; no restart once the
    /// streak's first failure is this old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_window: Option<Duration>,

    /// How long to wait before each restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffPatch>,

    /// Error classes never restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_errors: Option<Vec<ClassName>>,

    /// Custom error classes, tried in order before the built-in ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub error_classes: Option<Vec<ErrorClassSpec>>,

    /// Settings per error class (custom or built-in), merged over this policy's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<BTreeMap<ClassName, ClassOverride>>,

    /// Outcomes that are published to the SNS topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Vec<Action>>,

    /// Re-activating a scheduled or event flow that AppFlow deactivated
    /// after failures (docs/design.md §4, re-activation rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactivate: Option<ReactivatePatch>,
}

/// The `reactivate` section of a file: the fields it sets replace the layer below's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactivatePatch {
    /// `true`: re-activate the flow with StartFlow after AppFlow deactivated
    /// it (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Re-activations allowed within one `retry_window` (of the reason's class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_reactivations: Option<u32>,
    /// How long to wait before each re-activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffPatch>,
}

/// The name of an error class.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ClassName(#[schemars(regex(pattern = CLASS_NAME_PATTERN))] pub String);

impl ClassName {
    /// The class name as written, e.g. `throttling`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ClassName {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// A partial backoff: the fields it sets replace the layer below's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackoffPatch {
    /// How delays grow (`fixed`, `linear`, `exponential`); unset keeps the layer below's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Delay before restart 1 (at least 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay: Option<Duration>,
    /// Growth per restart, exponential only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1.0, max = 10.0))]
    pub multiplier: Option<f64>,
    /// Cap on one delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay: Option<Duration>,
    /// The randomness added to each delay (`none`, `full`, `equal`); unset keeps the layer below's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Jitter>,
}

/// A custom error class: a failure message matching any pattern belongs to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorClassSpec {
    /// The class's name, as `skip_errors` and `overrides` name it; tried before the built-in classes.
    pub name: ClassName,
    /// Regular expressions (Rust `regex` syntax), matched case-insensitively
    /// anywhere in the message.
    #[schemars(length(min = 1, max = 50))]
    pub patterns: Vec<String>,
}

/// Settings for one error class.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassOverride {
    /// Restarts allowed for a failure of this class (0–100); unset keeps the policy's `max_retries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_retries: Option<u32>,
    /// The class's `retry_window`; unset keeps the policy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_window: Option<Duration>,
    /// The class's backoff, laid over the policy's field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffPatch>,
}

/// How delays grow: `fixed` (every delay is `initial_delay`), `linear`
/// (delay n is `initial_delay × n`), `exponential` (delay n is
/// `initial_delay × multiplier^(n−1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    // `fixed`: every delay is `initial_delay`.
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Fixed,
    // `linear`: delay n is `initial_delay × n`.
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Linear,
    // `exponential`: delay n is `initial_delay × multiplier^(n−1)`.
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Exponential,
}

impl Strategy {
    /// The strategy's wire name as policy files write it (`fixed`, `linear`, `exponential`).
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Fixed => "fixed",
            Strategy::Linear => "linear",
            Strategy::Exponential => "exponential",
        }
    }
}

/// Randomness added to each delay so that many flows failing together do
/// not restart together: `none` (the computed delay), `full` (uniform in
/// [0, delay]), `equal` (delay/2 + uniform in [0, delay/2]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    // `none`: the computed delay itself.
    #[allow(missing_docs)] // a doc comment would change the committed schema
    None,
    // `full`: uniform in [0, delay].
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Full,
    // `equal`: delay/2 + uniform in [0, delay/2].
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Equal,
}

impl Jitter {
    /// The jitter's wire name as policy files write it (`none`, `full`, `equal`).
    pub fn as_str(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
        }
    }
}

/// What the service does with a failed run; also the outcomes `notify` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    // Restart the failed run after `delay_seconds` (rules 10–11).
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Retry,
    // Stop restarting: the streak has too many failures or is too old (rules 8, 9, 11).
    #[allow(missing_docs)] // a doc comment would change the committed schema
    GiveUp,
    // Do nothing for this failure: the policy or the run's state forbids a restart.
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Skip,
    // A failure streak the service restarted (or gave up on) ended in a
    // successful run: one message per incident (docs/design.md §4, recovery
    // rules). Only a `notify` value: never a restart.
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Recovered,
    // Re-activate a deactivated scheduled or event flow (a plain comment:
    // a doc comment would turn the schema's enum into a oneOf).
    #[allow(missing_docs)] // a doc comment would change the committed schema
    Reactivate,
}

impl Action {
    /// The action's wire name (`retry`, `give_up`, `skip`, `recovered`, `reactivate`), as in the
    /// decision's `action` and in `notify`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::GiveUp => "give_up",
            Action::Skip => "skip",
            Action::Recovered => "recovered",
            Action::Reactivate => "reactivate",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A complete backoff.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Backoff {
    /// How delays grow with the attempt number.
    pub strategy: Strategy,
    /// The delay before restart 1, and the base the strategy grows from.
    pub initial_delay: Duration,
    /// The growth per attempt (`exponential` only), 1.0–10.0.
    pub multiplier: f64,
    /// The cap on one delay, applied before jitter.
    pub max_delay: Duration,
    /// The randomness added to each delay.
    pub jitter: Jitter,
}

impl Backoff {
    /// Lays `patch` over this backoff: each field it sets replaces this one's.
    pub fn apply(&mut self, patch: &BackoffPatch) {
        set(&mut self.strategy, patch.strategy);
        set(&mut self.initial_delay, patch.initial_delay);
        set(&mut self.multiplier, patch.multiplier);
        set(&mut self.max_delay, patch.max_delay);
        set(&mut self.jitter, patch.jitter);
    }
}

/// The policy in force for one flow: every field set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    /// `false`: never restart this flow (rule 2: `skip`).
    pub enabled: bool,
    /// Restarts allowed within one `retry_window` (rule 8); 0 gives up at once.
    pub max_retries: u32,
    /// How old a failure streak may be: failures older start a new streak, and no restart is
    /// decided once the streak's first failure is this old (rules 9, 11).
    pub retry_window: Duration,
    /// How long to wait before each restart (rule 10).
    pub backoff: Backoff,
    /// Error classes never restarted (rule 5: `skip`).
    pub skip_errors: Vec<ClassName>,
    /// Custom error classes, tried in order before the built-in ones (rule 4).
    pub error_classes: Vec<ErrorClassSpec>,
    /// Settings per error class, merged over this policy's own ([`Policy::for_class`]).
    pub overrides: BTreeMap<ClassName, ClassOverride>,
    /// The outcomes a person is told about (published to the SNS topic).
    pub notify: Vec<Action>,
    /// Re-activating a scheduled or event flow that AppFlow deactivated (rules R1–R10).
    pub reactivate: Reactivate,
}

/// The `reactivate` section in force: every field set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reactivate {
    /// `true`: re-activate the flow after AppFlow deactivated it (R3; default `false`).
    pub enabled: bool,
    /// Re-activations allowed within one `retry_window` of the reason's class (R8), 0–100.
    pub max_reactivations: u32,
    /// How long to wait before each re-activation (R10); its own defaults: exponential from
    /// 5m ×2, cap 1h, full jitter.
    pub backoff: Backoff,
}

impl Reactivate {
    fn apply(&mut self, patch: &ReactivatePatch) {
        set(&mut self.enabled, patch.enabled);
        set(&mut self.max_reactivations, patch.max_reactivations);
        if let Some(b) = &patch.backoff {
            self.backoff.apply(b);
        }
    }
}

impl Default for Policy {
    /// The built-in defaults: what applies when no `default.yaml` exists.
    fn default() -> Self {
        Policy {
            enabled: true,
            max_retries: 3,
            retry_window: Duration::from_secs(6 * 3_600),
            backoff: Backoff {
                strategy: Strategy::Exponential,
                initial_delay: Duration::from_secs(120),
                multiplier: 2.0,
                max_delay: Duration::from_secs(3_600),
                jitter: Jitter::Full,
            },
            skip_errors: ["auth", "permission", "config"].map(ClassName::from).to_vec(),
            error_classes: Vec::new(),
            overrides: BTreeMap::new(),
            notify: vec![Action::GiveUp, Action::Skip],
            reactivate: Reactivate {
                enabled: false,
                max_reactivations: 3,
                backoff: Backoff {
                    strategy: Strategy::Exponential,
                    initial_delay: Duration::from_secs(300),
                    multiplier: 2.0,
                    max_delay: Duration::from_secs(3_600),
                    jitter: Jitter::Full,
                },
            },
        }
    }
}

/// The settings that govern one failure once its class is known.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassSettings {
    /// Restarts allowed for this class (rule 8).
    pub max_retries: u32,
    /// This class's window: the streak's age limit and how far back failures count (rules 7, 9, 11).
    pub retry_window: Duration,
    /// This class's backoff (rule 10).
    pub backoff: Backoff,
}

impl Policy {
    /// This policy with `file` laid over it.
    pub fn merged(mut self, file: &PolicyFile) -> Self {
        self.apply(file);
        self
    }

    /// Lays `file` over this policy (the `flow` key is not a setting and is ignored).
    pub fn apply(&mut self, file: &PolicyFile) {
        set(&mut self.enabled, file.enabled);
        set(&mut self.max_retries, file.max_retries);
        set(&mut self.retry_window, file.retry_window);
        if let Some(patch) = &file.backoff {
            self.backoff.apply(patch);
        }
        set(&mut self.skip_errors, file.skip_errors.clone());
        set(&mut self.error_classes, file.error_classes.clone());
        for (class, over) in file.overrides.iter().flatten() {
            self.overrides.entry(class.clone()).or_default().apply(over);
        }
        set(&mut self.notify, file.notify.clone());
        if let Some(patch) = &file.reactivate {
            self.reactivate.apply(patch);
        }
    }

    /// The policy's settings with `overrides[class]` merged in.
    pub fn for_class(&self, class: &str) -> ClassSettings {
        let mut settings = ClassSettings {
            max_retries: self.max_retries,
            retry_window: self.retry_window,
            backoff: self.backoff.clone(),
        };
        if let Some(over) = self.overrides.get(&ClassName::from(class)) {
            set(&mut settings.max_retries, over.max_retries);
            set(&mut settings.retry_window, over.retry_window);
            if let Some(patch) = &over.backoff {
                settings.backoff.apply(patch);
            }
        }
        settings
    }

    /// The longest `retry_window` of the policy and its overrides: how far
    /// back a failure's history matters, whatever its class.
    pub fn longest_window(&self) -> Duration {
        self.overrides
            .values()
            .filter_map(|o| o.retry_window)
            .fold(self.retry_window, std::cmp::max)
    }

    /// Whether a decision with `action` is told to a person: `notify` holds it.
    pub fn notifies(&self, action: Action) -> bool {
        self.notify.contains(&action)
    }
}

impl ClassOverride {
    fn apply(&mut self, over: &ClassOverride) {
        layer(&mut self.max_retries, over.max_retries);
        layer(&mut self.retry_window, over.retry_window);
        match (&mut self.backoff, &over.backoff) {
            (Some(mine), Some(theirs)) => mine.apply(theirs),
            (None, Some(theirs)) => self.backoff = Some(theirs.clone()),
            (_, None) => {}
        }
    }
}

impl BackoffPatch {
    /// Lays another patch over this one: the fields it sets win.
    fn apply(&mut self, over: &BackoffPatch) {
        layer(&mut self.strategy, over.strategy);
        layer(&mut self.initial_delay, over.initial_delay);
        layer(&mut self.multiplier, over.multiplier);
        layer(&mut self.max_delay, over.max_delay);
        layer(&mut self.jitter, over.jitter);
    }
}

fn layer<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(yaml: &str) -> PolicyFile {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn maps_merge_key_by_key_and_lists_replace() {
        let default = file(
            "max_retries: 3\nbackoff: {strategy: exponential, initial_delay: 2m}\n\
             skip_errors: [auth, permission]\n\
             overrides: {throttling: {max_retries: 9, backoff: {initial_delay: 5m, jitter: none}}}",
        );
        let flow = file(
            "flow: x\nbackoff: {initial_delay: 30s}\nskip_errors: [config]\n\
             overrides: {throttling: {backoff: {initial_delay: 10m}}, transient: {max_retries: 1}}",
        );
        let p = Policy::default().merged(&default).merged(&flow);
        assert_eq!(p.max_retries, 3);
        assert_eq!(p.backoff.strategy, Strategy::Exponential);
        assert_eq!(p.backoff.initial_delay.as_secs(), 30);
        assert_eq!(p.skip_errors, vec![ClassName::from("config")]);

        let t = p.for_class("throttling");
        assert_eq!(t.max_retries, 9, "kept from default's override");
        assert_eq!(t.backoff.initial_delay.as_secs(), 600, "flow's override wins");
        assert_eq!(t.backoff.jitter, Jitter::None, "default's override key kept");
        assert_eq!(t.backoff.max_delay, p.backoff.max_delay, "policy backoff under it");
        assert_eq!(p.for_class("transient").max_retries, 1);
        assert_eq!(p.for_class("unknown").max_retries, 3);
    }

    #[test]
    fn reactivate_merges_key_by_key() {
        let default = file("reactivate: {max_reactivations: 5, backoff: {initial_delay: 10m, jitter: none}}");
        let flow = file("flow: x\nreactivate: {enabled: true, backoff: {initial_delay: 1m}}");
        let p = Policy::default().merged(&default).merged(&flow);
        assert!(p.reactivate.enabled);
        assert_eq!(p.reactivate.max_reactivations, 5, "kept from the default");
        assert_eq!(p.reactivate.backoff.initial_delay.as_secs(), 60, "flow wins");
        assert_eq!(p.reactivate.backoff.jitter, Jitter::None, "default's backoff key kept");
        assert_eq!(p.backoff, Policy::default().backoff, "the restart backoff is separate");
        assert!(!Policy::default().reactivate.enabled, "opt-in");
        let err = serde_yaml::from_str::<PolicyFile>("reactivate: {enable: true}").unwrap_err();
        assert!(err.to_string().contains("unknown field `enable`"), "{err}");
    }

    #[test]
    fn unknown_fields_are_errors() {
        let err = serde_yaml::from_str::<PolicyFile>("max_retry: 3").unwrap_err();
        assert!(err.to_string().contains("unknown field `max_retry`"), "{err}");
        let err = serde_yaml::from_str::<PolicyFile>("backoff: {delay: 3s}").unwrap_err();
        assert!(err.to_string().contains("unknown field `delay`"), "{err}");
    }
}
