//! A policy set (the default plus one file per flow) and the policy resolved
//! for one flow.

use std::collections::BTreeMap;

use crate::classify::{Classifier, ClassifierError};
use crate::diagnostic::{Diagnostic, Position};
use crate::model::{Policy, PolicyFile};
use crate::validate::{FileKind, PolicySource, check_policy, validate_sources};

/// The `policy` value of a decision made on the built-in or default policy alone.
pub const DEFAULT_SOURCE: &str = "default";

/// A policy file and where it came from (a path, or an SSM parameter name).
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedFile {
    /// Where the file came from: its path (CLI) or its SSM parameter name (Lambda); the
    /// `policy` value of the decisions made with it.
    pub source: String,
    /// The file as read and validated.
    pub file: PolicyFile,
}

/// Validated policy files, by flow name.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// `default.yaml` (or `<prefix>/default`); None when there is none: the built-in defaults apply.
    pub default: Option<SourcedFile>,
    /// The flow files, keyed by the flow they govern (their `flow` key).
    pub flows: BTreeMap<String, SourcedFile>,
}

impl PolicySet {
    /// The policy in force for `flow`: built-in defaults ← default ← the flow's file.
    pub fn resolve(&self, flow: &str) -> Result<ResolvedPolicy, PolicyError> {
        let mut policy = Policy::default();
        if let Some(d) = &self.default {
            policy.apply(&d.file);
        }
        let source = match self.flows.get(flow) {
            Some(f) => {
                policy.apply(&f.file);
                f.source.clone()
            }
            None => DEFAULT_SOURCE.to_owned(),
        };
        // Every file in a validated set passed check_policy: compile only.
        ResolvedPolicy::compile(source, policy)
    }
}

/// Why a policy cannot be decided with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The first rule of [`check_policy`] it breaks.
    #[error("{0}")]
    Rule(String),
    /// A custom class's patterns do not compile together.
    #[error(transparent)]
    Classifier(#[from] ClassifierError),
}

/// The policy for one flow, ready to decide with.
#[derive(Debug, Clone)]
pub struct ResolvedPolicy {
    /// The flow file's path (CLI), its SSM parameter name (Lambda), or `default`.
    pub source: String,
    /// The effective policy: built-in defaults ← default ← the flow's file.
    pub policy: Policy,
    /// The policy's error classifier, custom classes compiled (rule 4).
    pub classifier: Classifier,
}

impl ResolvedPolicy {
    /// Compiles a policy's classifier; fails when the policy breaks a rule.
    pub fn new(source: String, policy: Policy) -> Result<Self, PolicyError> {
        if let Some(problem) = check_policy(&policy).into_iter().next() {
            return Err(PolicyError::Rule(problem.message));
        }
        Self::compile(source, policy)
    }

    /// Compiles the classifier of a policy that passed [`check_policy`].
    fn compile(source: String, policy: Policy) -> Result<Self, PolicyError> {
        let classifier = Classifier::new(&policy.error_classes)?;
        Ok(ResolvedPolicy {
            source,
            policy,
            classifier,
        })
    }

    /// The built-in defaults.
    pub fn builtin() -> Self {
        ResolvedPolicy {
            source: DEFAULT_SOURCE.to_owned(),
            policy: Policy::default(),
            classifier: Classifier::empty(),
        }
    }
}

/// A policy parameter (or file) that exists but cannot be used. Policies
/// fail closed (docs/design.md §6.1): the flows it governs are never decided
/// on a guess, their failures are skipped and always notified.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenPolicy {
    /// The file's path or the SSM parameter's name.
    pub source: String,
    /// Every problem found in it, located.
    pub problems: Vec<Diagnostic>,
}

impl BrokenPolicy {
    /// One line for a decision's reason: the first problem, and how many more.
    pub fn summary(&self) -> String {
        let first = self
            .problems
            .first()
            .map_or_else(|| format!("{}: cannot be used", self.source), ToString::to_string);
        match self.problems.len() {
            0 | 1 => first,
            n => format!("{first} (and {} more problems)", n - 1),
        }
    }
}

/// The policy in force for one flow, or why there is none.
#[derive(Debug, Clone)]
pub enum FlowPolicy {
    /// The policy resolved and compiled: decide with it.
    Usable(ResolvedPolicy),
    /// The flow's parameter, or the default, exists but cannot be used: fail closed (`skip`,
    /// always notified; docs/design.md §4, policy resolution).
    Broken(BrokenPolicy),
}

impl FlowPolicy {
    /// The usable policy, if any.
    pub fn usable(&self) -> Option<&ResolvedPolicy> {
        match self {
            FlowPolicy::Usable(p) => Some(p),
            FlowPolicy::Broken(_) => None,
        }
    }

    /// Resolves a flow's policy from stored texts, as the Lambda reads them
    /// from SSM: `(name, text)` of the default and of the flow's parameter,
    /// either absent. The texts go through the same validation as
    /// `appflow-retry validate` ([`validate_sources`], without the JSON
    /// Schema, whose checks the typed model repeats). It fails closed:
    /// a flow parameter that exists but cannot be used, or a default that
    /// exists but cannot be used, makes the flow [`FlowPolicy::Broken`].
    /// Only a missing default means the built-in defaults.
    pub fn from_texts(flow: &str, default: Option<(&str, &str)>, flow_text: Option<(&str, &str)>) -> FlowPolicy {
        let sources: Vec<PolicySource> = default
            .map(|(name, text)| (name, text, FileKind::Default))
            .into_iter()
            .chain(flow_text.map(|(name, text)| (name, text, FileKind::Flow)))
            .map(|(name, text, kind)| PolicySource {
                file: name.to_owned(),
                text: text.to_owned(),
                kind,
            })
            .collect();
        let validated = validate_sources(&sources, None);
        let resolved = validated.resolve(flow);
        let Some((name, _)) = flow_text else {
            return resolved;
        };
        // The parameter is the flow's by its name; a file in it that claims
        // another flow (or none, or cannot be read) is broken, not ignored.
        match resolved {
            FlowPolicy::Usable(p) if p.source != name => {
                let mut problems: Vec<Diagnostic> = validated
                    .diagnostics
                    .iter()
                    .filter(|d| d.file == name)
                    .cloned()
                    .collect();
                if problems.is_empty() {
                    problems.push(Diagnostic {
                        file: name.to_owned(),
                        position: Position::START,
                        message: format!("this is flow {flow}'s parameter, but its `flow` names another flow"),
                    });
                }
                FlowPolicy::Broken(BrokenPolicy {
                    source: name.to_owned(),
                    problems,
                })
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usable(p: FlowPolicy) -> ResolvedPolicy {
        match p {
            FlowPolicy::Usable(p) => p,
            FlowPolicy::Broken(b) => panic!("broken: {b:?}"),
        }
    }

    fn broken(p: FlowPolicy) -> BrokenPolicy {
        match p {
            FlowPolicy::Usable(p) => panic!("usable: {p:?}"),
            FlowPolicy::Broken(b) => b,
        }
    }

    const DEFAULT: (&str, &str) = ("/p/default", "max_retries: 4\n");

    #[test]
    fn stored_texts_resolve() {
        let r = usable(FlowPolicy::from_texts(
            "x",
            Some(DEFAULT),
            Some(("/p/flows/x", "flow: x\nmax_retries: 7\n")),
        ));
        assert_eq!((r.source.as_str(), r.policy.max_retries), ("/p/flows/x", 7));
        let r = usable(FlowPolicy::from_texts("x", Some(DEFAULT), None));
        assert_eq!((r.source.as_str(), r.policy.max_retries), (DEFAULT_SOURCE, 4));
        let r = usable(FlowPolicy::from_texts("x", None, None));
        assert_eq!(
            r.policy,
            Policy::default(),
            "a missing default means the built-in defaults"
        );
    }

    #[test]
    fn a_broken_flow_parameter_fails_closed() {
        for (text, expect) in [
            ("flow: x\nmax_retry: 7\n", "max_retry"),
            ("flow: x\nenabled: no\n", "enabled"),
            ("flow: x\nbackoff: {initial_delay: 2h}\n", "max_delay"),
            ("flow: x\nbackoff: [\n", "invalid YAML"),
            ("flow: y\n", "names another flow"),
            ("max_retries: 2\n", "missing `flow`"),
            ("flow: x\nbase: &a [1]\nmax_retries: *a\n", "anchors"),
        ] {
            let b = broken(FlowPolicy::from_texts("x", Some(DEFAULT), Some(("/p/flows/x", text))));
            assert_eq!(b.source, "/p/flows/x", "{text}");
            assert!(b.summary().contains(expect), "{text}: {}", b.summary());
            assert!(b.summary().starts_with("/p/flows/x:"), "{}", b.summary());
        }
    }

    #[test]
    fn a_broken_default_breaks_every_flow() {
        let bad_default = ("/p/default", "backoff: [");
        let b = broken(FlowPolicy::from_texts("x", Some(bad_default), None));
        assert_eq!(b.source, "/p/default");
        let b = broken(FlowPolicy::from_texts(
            "x",
            Some(bad_default),
            Some(("/p/flows/x", "flow: x\n")),
        ));
        assert_eq!(b.source, "/p/default");
    }
}
