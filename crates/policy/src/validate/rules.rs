//! The semantic rules (docs/design.md §3) on one effective policy: what the
//! schema cannot express.

use std::collections::BTreeMap;

use super::suggest::suggest;
use crate::classify::{self, BUILTIN_CLASSES, UNKNOWN};
use crate::diagnostic::Diagnostic;
use crate::duration::{Duration, MAX_DURATION, MAX_DURATION_REASON};
use crate::field_path::{FieldPath, PathSeg};
use crate::model::{Backoff, CLASS_NAME_PATTERN, ClassName, Policy};
use crate::path;
use crate::yaml::YamlDoc;

/// The largest value SSM stores (Advanced tier); above 4 KB needs that tier.
pub const SSM_MAX_VALUE_BYTES: usize = 8 * 1024;
/// The largest value of a Standard-tier SSM parameter.
pub const SSM_STANDARD_VALUE_BYTES: usize = 4 * 1024;
/// The largest `max_retries` (and `max_reactivations`) a policy may set.
pub const MAX_RETRIES_LIMIT: u32 = 100;
/// The `multiplier` a backoff may set, inclusive.
pub const MULTIPLIER_RANGE: std::ops::RangeInclusive<f64> = 1.0..=10.0;

/// A broken rule. `paths` are the fields involved, most specific first: the
/// diagnostic points at the first one the file at fault sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The fields involved, most specific first.
    pub paths: Vec<FieldPath>,
    /// What is wrong, one line, as the diagnostic prints it.
    pub message: String,
}

impl Problem {
    fn new(paths: Vec<FieldPath>, message: impl Into<String>) -> Self {
        Problem {
            paths,
            message: message.into(),
        }
    }

    /// The first of its fields that `doc` sets, if any.
    pub fn set_in<'a>(&'a self, doc: &YamlDoc) -> Option<&'a FieldPath> {
        self.paths.iter().find(|p| doc.index.contains(p))
    }

    /// A diagnostic in `doc`, pointing at the first field it sets (else the
    /// most specific field's nearest parent): for a file checked on its own.
    pub fn diagnostic(self, doc: &YamlDoc) -> Diagnostic {
        let at = self.set_in(doc).or(self.paths.first()).cloned().unwrap_or_default();
        doc.diag_at(&at, self.message)
    }
}

/// Every semantic rule on one effective policy.
pub fn check_policy(p: &Policy) -> Vec<Problem> {
    let mut out = Vec::new();
    check_retries(&mut out, p.max_retries, vec![path!["max_retries"]]);
    check_window(&mut out, p.retry_window, vec![path!["retry_window"]]);
    check_backoff(&mut out, &p.backoff, &[&[]]);
    if p.reactivate.max_reactivations > MAX_RETRIES_LIMIT {
        out.push(Problem::new(
            vec![path!["reactivate", "max_reactivations"]],
            format!(
                "max_reactivations is {}; at most {MAX_RETRIES_LIMIT}",
                p.reactivate.max_reactivations
            ),
        ));
    }
    check_backoff(&mut out, &p.reactivate.backoff, &[&path!["reactivate", "backoff"]]);

    if p.error_classes.len() > classify::MAX_CUSTOM_CLASSES {
        out.push(Problem::new(
            vec![path!["error_classes"]],
            format!(
                "a policy has at most {} custom classes, this one {}",
                classify::MAX_CUSTOM_CLASSES,
                p.error_classes.len()
            ),
        ));
    }
    let mut custom: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, class) in p.error_classes.iter().enumerate().take(classify::MAX_CUSTOM_CLASSES) {
        let at = |rest: &[PathSeg]| {
            let mut v = path!["error_classes", i];
            v.extend_from_slice(rest);
            v
        };
        let name = class.name.as_str();
        if !class_name_ok(name) {
            out.push(Problem::new(
                vec![at(&path!["name"])],
                format!("class name \"{name}\" must match {CLASS_NAME_PATTERN}"),
            ));
        } else if classify::is_builtin(name) {
            out.push(Problem::new(
                vec![at(&path!["name"])],
                format!("\"{name}\" is a built-in class; give the custom class another name"),
            ));
        } else if let Some(first) = custom.insert(name, i) {
            out.push(Problem::new(
                vec![at(&path!["name"])],
                format!("class \"{name}\" is already defined at error_classes[{first}]"),
            ));
        }
        if class.patterns.is_empty() {
            out.push(Problem::new(
                vec![at(&path!["patterns"])],
                "a class needs at least one pattern",
            ));
        }
        if class.patterns.len() > classify::MAX_PATTERNS_PER_CLASS {
            out.push(Problem::new(
                vec![at(&path!["patterns"])],
                format!(
                    "a class has at most {} patterns, this one {}",
                    classify::MAX_PATTERNS_PER_CLASS,
                    class.patterns.len()
                ),
            ));
            continue;
        }
        let before = out.len();
        for (j, pattern) in class.patterns.iter().enumerate() {
            if let Err(e) = classify::check_pattern(pattern) {
                out.push(Problem::new(vec![at(&path!["patterns", j])], e.to_string()));
            }
        }
        // As the Lambda compiles it: all of the class's patterns in one regex.
        if out.len() == before
            && !class.patterns.is_empty()
            && let Err(e) = classify::check_class(&class.patterns)
        {
            out.push(Problem::new(vec![at(&path!["patterns"])], e.to_string()));
        }
    }

    let known =
        |name: &ClassName| classify::is_builtin(name.as_str()) || p.error_classes.iter().any(|c| &c.name == name);
    let unknown_class = |name: &ClassName, at: FieldPath| {
        let candidates = BUILTIN_CLASSES
            .iter()
            .map(|c| c.name)
            .chain([UNKNOWN])
            .chain(p.error_classes.iter().map(|c| c.name.as_str()));
        let hint = suggest(name.as_str(), candidates)
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        Problem::new(
            vec![at, path!["error_classes"]],
            format!("unknown error class \"{}\"{hint}", name.as_str()),
        )
    };
    for (i, name) in p.skip_errors.iter().enumerate() {
        if !known(name) {
            out.push(unknown_class(name, path!["skip_errors", i]));
        }
    }
    for name in p.overrides.keys() {
        let key = name.as_str();
        if !known(name) {
            out.push(unknown_class(name, path!["overrides", key]));
            continue;
        }
        let settings = p.for_class(key);
        check_retries(
            &mut out,
            settings.max_retries,
            vec![path!["overrides", key, "max_retries"], path!["max_retries"]],
        );
        check_window(
            &mut out,
            settings.retry_window,
            vec![path!["overrides", key, "retry_window"], path!["retry_window"]],
        );
        check_backoff(&mut out, &settings.backoff, &[&path!["overrides", key, "backoff"], &[]]);
    }
    out
}

fn check_retries(out: &mut Vec<Problem>, n: u32, paths: Vec<FieldPath>) {
    if n > MAX_RETRIES_LIMIT {
        out.push(Problem::new(
            paths,
            format!("max_retries is {n}; at most {MAX_RETRIES_LIMIT}"),
        ));
    }
}

fn check_window(out: &mut Vec<Problem>, window: Duration, paths: Vec<FieldPath>) {
    if window.as_secs() == 0 {
        out.push(Problem::new(paths, "retry_window must be at least 1s"));
    } else if window > MAX_DURATION {
        out.push(Problem::new(
            paths,
            format!("retry_window is {window}; at most {MAX_DURATION}: {MAX_DURATION_REASON}"),
        ));
    }
}

/// Checks a backoff whose fields may come from several layers, given as
/// path prefixes, most specific first (e.g. an override's backoff, then the policy's).
fn check_backoff(out: &mut Vec<Problem>, b: &Backoff, prefixes: &[&[PathSeg]]) {
    let field = |name: &str| -> Vec<FieldPath> {
        prefixes
            .iter()
            .map(|pre| {
                let mut v = pre.to_vec();
                // The policy's own backoff is `backoff.<name>`; a prefix already ends in `backoff`.
                if pre.is_empty() {
                    v.push(PathSeg::from("backoff"));
                }
                v.push(PathSeg::from(name));
                v
            })
            .collect()
    };
    if b.initial_delay.as_secs() < 1 {
        out.push(Problem::new(
            field("initial_delay"),
            "initial_delay must be at least 1s",
        ));
    }
    for (name, d) in [("initial_delay", b.initial_delay), ("max_delay", b.max_delay)] {
        if d > MAX_DURATION {
            out.push(Problem::new(
                field(name),
                format!("{name} is {d}; at most {MAX_DURATION}: {MAX_DURATION_REASON}"),
            ));
        }
    }
    if b.max_delay < b.initial_delay {
        let mut paths = field("max_delay");
        paths.extend(field("initial_delay"));
        out.push(Problem::new(
            paths,
            format!(
                "max_delay ({}) is less than initial_delay ({})",
                b.max_delay, b.initial_delay
            ),
        ));
    }
    if !(b.multiplier.is_finite() && MULTIPLIER_RANGE.contains(&b.multiplier)) {
        out.push(Problem::new(
            field("multiplier"),
            format!("multiplier is {}; it must be between 1.0 and 10.0", b.multiplier),
        ));
    }
}

fn class_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PolicyFile;

    fn problems(yaml: &str) -> Vec<String> {
        let file: PolicyFile = serde_yaml::from_str(yaml).unwrap();
        check_policy(&Policy::default().merged(&file))
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn the_built_in_defaults_pass() {
        assert!(check_policy(&Policy::default()).is_empty());
    }

    #[test]
    fn each_rule_fires() {
        let cases = [
            ("max_retries: 101", "max_retries is 101"),
            ("retry_window: 0s", "retry_window must be at least 1s"),
            (
                "retry_window: 31d",
                "retry_window is 31d; at most 30d: Step Functions may keep a closed execution only 30 days",
            ),
            ("backoff: {initial_delay: 0s}", "initial_delay must be at least 1s"),
            ("backoff: {max_delay: 400d, initial_delay: 1s}", "max_delay is 400d"),
            (
                "backoff: {initial_delay: 2h, max_delay: 1h}",
                "max_delay (1h) is less than initial_delay (2h)",
            ),
            ("backoff: {multiplier: 11}", "multiplier is 11"),
            (
                "skip_errors: [auht]",
                "unknown error class \"auht\"; did you mean \"auth\"?",
            ),
            ("overrides: {nope: {max_retries: 1}}", "unknown error class \"nope\""),
            (
                "error_classes: [{name: throttling, patterns: [x]}]",
                "is a built-in class",
            ),
            (
                "error_classes: [{name: a, patterns: [x]}, {name: a, patterns: [y]}]",
                "already defined at error_classes[0]",
            ),
            ("error_classes: [{name: Bad, patterns: [x]}]", "must match"),
            ("error_classes: [{name: a, patterns: []}]", "at least one pattern"),
            ("error_classes: [{name: a, patterns: ['(']}]", "invalid regex"),
            (
                "overrides: {throttling: {backoff: {initial_delay: 2h}}}",
                "max_delay (1h) is less than initial_delay (2h)",
            ),
            ("overrides: {transient: {max_retries: 500}}", "max_retries is 500"),
        ];
        for (yaml, want) in cases {
            let got = problems(yaml);
            assert!(got.iter().any(|m| m.contains(want)), "{yaml}: {got:?}");
        }
    }

    #[test]
    fn override_problems_point_at_the_override_first() {
        let file: PolicyFile = serde_yaml::from_str("overrides: {throttling: {backoff: {initial_delay: 2h}}}").unwrap();
        let p = check_policy(&Policy::default().merged(&file));
        assert_eq!(p[0].paths[0], path!["overrides", "throttling", "backoff", "max_delay"]);
        assert!(
            p[0].paths
                .contains(&path!["overrides", "throttling", "backoff", "initial_delay"])
        );
        assert!(p[0].paths.contains(&path!["backoff", "initial_delay"]));
    }
}
