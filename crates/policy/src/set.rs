//! A policy set (the default plus one file per flow) and the policy resolved
//! for one flow.

use std::collections::BTreeMap;

use crate::classify::Classifier;
use crate::model::{Policy, PolicyFile};
use crate::source::{Diagnostic, Position, YamlDoc};
use crate::validate::check_policy;

/// The `policy` value of a decision made on the built-in or default policy alone.
pub const DEFAULT_SOURCE: &str = "default";

/// A policy file and where it came from (a path, or an SSM parameter name).
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedFile {
    pub source: String,
    pub file: PolicyFile,
}

/// Validated policy files, by flow name.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    pub default: Option<SourcedFile>,
    pub flows: BTreeMap<String, SourcedFile>,
}

impl PolicySet {
    /// The policy in force for `flow`: built-in defaults ← default ← the flow's file.
    pub fn resolve(&self, flow: &str) -> Result<ResolvedPolicy, String> {
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
        ResolvedPolicy::new(source, policy)
    }
}

/// The policy for one flow, ready to decide with.
#[derive(Debug, Clone)]
pub struct ResolvedPolicy {
    /// The flow file's path (CLI), its SSM parameter name (Lambda), or `default`.
    pub source: String,
    pub policy: Policy,
    pub classifier: Classifier,
}

impl ResolvedPolicy {
    /// Compiles a policy's classifier; fails when the policy breaks a rule.
    pub fn new(source: String, policy: Policy) -> Result<Self, String> {
        if let Some(problem) = check_policy(&policy).into_iter().next() {
            return Err(problem.message);
        }
        Self::checked(source, policy)
    }

    /// Compiles the classifier of a policy that passed [`check_policy`].
    fn checked(source: String, policy: Policy) -> Result<Self, String> {
        let classifier = Classifier::new(&policy.error_classes)?;
        Ok(ResolvedPolicy {
            source,
            policy,
            classifier,
        })
    }

    /// The built-in defaults.
    pub fn builtin() -> Self {
        Self::from_default(DEFAULT_SOURCE, Policy::default())
    }

    fn from_default(source: &str, policy: Policy) -> Self {
        let classifier = Classifier::new(&policy.error_classes).unwrap_or_else(|_| Classifier::empty());
        ResolvedPolicy {
            source: source.to_owned(),
            policy,
            classifier,
        }
    }

    /// Resolves a flow's policy from stored texts, as the Lambda reads them
    /// from SSM: `(name, text)` of the default and of the flow's parameter,
    /// either absent. A broken text never fails the resolution: it is left
    /// out (the default falls back to the built-in defaults, the flow to the
    /// default) and its problems are returned for the caller to log.
    pub fn from_texts(default: Option<(&str, &str)>, flow: Option<(&str, &str)>) -> (Self, Vec<Diagnostic>) {
        let mut problems = Vec::new();
        let mut base = Self::builtin();
        if let Some((name, text)) = default {
            match load_checked(name, text, Policy::default()) {
                Ok(policy) => base = ResolvedPolicy::from_default(DEFAULT_SOURCE, policy),
                Err(mut d) => problems.append(&mut d),
            }
        }
        let Some((name, text)) = flow else {
            return (base, problems);
        };
        match load_checked(name, text, base.policy.clone()) {
            Ok(policy) => match ResolvedPolicy::checked(name.to_owned(), policy) {
                Ok(resolved) => (resolved, problems),
                Err(e) => {
                    problems.push(Diagnostic {
                        file: name.to_owned(),
                        position: Position::START,
                        message: e,
                    });
                    (base, problems)
                }
            },
            Err(mut d) => {
                problems.append(&mut d);
                (base, problems)
            }
        }
    }
}

/// Parses a stored policy text and lays it over `base`, checking the rules.
fn load_checked(name: &str, text: &str, base: Policy) -> Result<Policy, Vec<Diagnostic>> {
    let doc = YamlDoc::parse(name, text).map_err(|d| vec![d])?;
    let file: PolicyFile = doc.deserialize().map_err(|d| vec![d])?;
    let policy = base.merged(&file);
    let problems = check_policy(&policy);
    if problems.is_empty() {
        Ok(policy)
    } else {
        Err(problems.into_iter().map(|p| p.diagnostic(&doc)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_texts_resolve_and_fall_back() {
        let default = ("/p/default", "max_retries: 4\n");
        let (r, problems) =
            ResolvedPolicy::from_texts(Some(default), Some(("/p/flows/x", "flow: x\nmax_retries: 7\n")));
        assert!(problems.is_empty());
        assert_eq!((r.source.as_str(), r.policy.max_retries), ("/p/flows/x", 7));

        let (r, problems) = ResolvedPolicy::from_texts(Some(default), Some(("/p/flows/x", "max_retry: 7\n")));
        assert_eq!((r.source.as_str(), r.policy.max_retries), (DEFAULT_SOURCE, 4));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].file, "/p/flows/x");
        assert!(problems[0].message.contains("max_retry"));

        let (r, problems) = ResolvedPolicy::from_texts(Some(("/p/default", "backoff: [")), None);
        assert_eq!(r.policy, Policy::default());
        assert_eq!(problems.len(), 1);

        let (r, _) = ResolvedPolicy::from_texts(None, Some(("/p/flows/x", "backoff: {initial_delay: 2h}\n")));
        assert_eq!(r.source, DEFAULT_SOURCE, "max_delay < initial_delay falls back");
    }
}
