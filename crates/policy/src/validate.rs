//! Semantic rules (docs/design.md §3) on an effective policy, and validation of a
//! whole policy set: syntax, schema (through [`SchemaCheck`], which the CLI
//! implements with the committed JSON Schema), types, rules, and the rules
//! across files.

use std::collections::BTreeMap;

use crate::classify::{self, BUILTIN_CLASSES, UNKNOWN};
use crate::duration::{Duration, MAX_DURATION};
use crate::model::{Backoff, CLASS_NAME_PATTERN, ClassName, Policy, PolicyFile};
use crate::path;
use crate::set::{BrokenPolicy, DEFAULT_SOURCE, FlowPolicy, PolicySet, SourcedFile};
use crate::source::{Diagnostic, FieldPath, PathSeg, Position, YamlDoc, display_path};

/// The largest value SSM stores (Advanced tier); above 4 KB needs that tier.
pub const SSM_MAX_VALUE_BYTES: usize = 8 * 1024;
/// The largest value of a Standard-tier SSM parameter.
pub const SSM_STANDARD_VALUE_BYTES: usize = 4 * 1024;
pub const MAX_RETRIES_LIMIT: u32 = 100;
pub const MULTIPLIER_RANGE: std::ops::RangeInclusive<f64> = 1.0..=10.0;

/// A broken rule. `paths` are the fields involved, most specific first: the
/// diagnostic points at the first one the file at fault sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub paths: Vec<FieldPath>,
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
            format!("retry_window is {window}; at most {MAX_DURATION}"),
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
                format!("{name} is {d}; at most {MAX_DURATION} (the Step Functions Wait limit)"),
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

/// The closest candidate within a third of the word's length (at least 2
/// edits), for "did you mean" hints.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= (word.chars().count() / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The kind of a policy file: the set's default or a flow's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Default,
    Flow,
}

/// One policy file's text and where it came from.
#[derive(Debug, Clone)]
pub struct PolicySource {
    /// How diagnostics name the file (a path, or an SSM parameter name).
    pub file: String,
    pub text: String,
    pub kind: FileKind,
}

/// A schema violation found by a [`SchemaCheck`].
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaViolation {
    /// Where in the document.
    pub path: FieldPath,
    /// For "unknown field" violations: the keys not allowed at `path`,
    /// each reported at its own position.
    pub unexpected: Vec<String>,
    pub message: String,
}

/// Validates one document against the policy JSON Schema.
pub trait SchemaCheck {
    fn check(&self, doc: &serde_json::Value) -> Vec<SchemaViolation>;
}

/// What validating a set found, and the files that passed.
#[derive(Debug)]
pub struct Validated {
    /// Every problem, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The files that passed their own checks (those with problems left out).
    pub set: PolicySet,
    /// The default file, when it exists but cannot be used.
    pub broken_default: Option<String>,
    /// Flows whose file (or one of whose files) cannot be used: flow → file.
    pub broken_flows: BTreeMap<String, String>,
}

impl Validated {
    /// The policy in force for `flow`, failing closed (docs/design.md §6.1):
    /// a broken default breaks every flow, a broken file breaks its flow.
    pub fn resolve(&self, flow: &str) -> FlowPolicy {
        let broken = |source: &str| {
            FlowPolicy::Broken(BrokenPolicy {
                source: source.to_owned(),
                problems: self.diagnostics.iter().filter(|d| d.file == source).cloned().collect(),
            })
        };
        if let Some(file) = &self.broken_default {
            return broken(file);
        }
        if let Some(file) = self.broken_flows.get(flow) {
            return broken(file);
        }
        match self.set.resolve(flow) {
            Ok(p) => FlowPolicy::Usable(p),
            // Unreachable for a validated set; still never a guess.
            Err(e) => {
                let message = e.to_string();
                let source = self.set.flows.get(flow).map_or(DEFAULT_SOURCE, |f| f.source.as_str());
                FlowPolicy::Broken(BrokenPolicy {
                    source: source.to_owned(),
                    problems: vec![Diagnostic {
                        file: source.to_owned(),
                        position: Position::START,
                        message,
                    }],
                })
            }
        }
    }
}

/// Every null value in a document (`enabled:`, `max_retries: ~`), located.
fn null_values(doc: &YamlDoc) -> Vec<Diagnostic> {
    fn walk(v: &serde_yaml::Value, path: &mut FieldPath, doc: &YamlDoc, out: &mut Vec<Diagnostic>) {
        match v {
            // At the key: an empty value's position is the next token's.
            serde_yaml::Value::Null if !path.is_empty() => out.push(doc.diag_pos(
                doc.index.locate_key(path),
                format!(
                    "{}: no value: give one, or remove the key to inherit it",
                    display_path(path)
                ),
            )),
            serde_yaml::Value::Mapping(m) => {
                for (k, v) in m {
                    path.push(PathSeg::Key(k.as_str().unwrap_or("?").to_owned()));
                    walk(v, path, doc, out);
                    path.pop();
                }
            }
            serde_yaml::Value::Sequence(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(PathSeg::Index(i));
                    walk(v, path, doc, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&doc.value, &mut Vec::new(), doc, &mut out);
    out
}

/// The `flow` a document names, read leniently (for reporting a broken file
/// against its flow even when the file fails its checks).
fn claimed_flow(doc: &YamlDoc) -> Option<String> {
    doc.value
        .get("flow")
        .and_then(serde_yaml::Value::as_str)
        .map(str::to_owned)
}

/// Validates a policy set: each file's syntax, schema and types, the rules on
/// each flow file's effective policy (pointing at the flow file), and the
/// rules across files. Reports every problem, not only the first. The same
/// function serves `appflow-retry validate` and the Lambdas.
pub fn validate_sources(sources: &[PolicySource], schema: Option<&dyn SchemaCheck>) -> Validated {
    let mut diags = Vec::new();
    let mut set = PolicySet::default();
    let mut broken_default = None;
    let mut broken_flows: BTreeMap<String, String> = BTreeMap::new();
    let mut parsed: Vec<(&PolicySource, YamlDoc, PolicyFile)> = Vec::new();
    let mut mark_broken = |src: &PolicySource, flow: Option<String>| match src.kind {
        FileKind::Default => {
            broken_default.get_or_insert_with(|| src.file.clone());
        }
        FileKind::Flow => {
            if let Some(flow) = flow {
                broken_flows.entry(flow).or_insert_with(|| src.file.clone());
            }
        }
    };

    for src in sources {
        let before = diags.len();
        if src.text.len() > SSM_MAX_VALUE_BYTES {
            diags.push(Diagnostic {
                file: src.file.clone(),
                position: Position::START,
                message: format!(
                    "file is {} bytes; an SSM parameter holds at most {SSM_MAX_VALUE_BYTES} (Advanced tier)",
                    src.text.len()
                ),
            });
            // It cannot be published; reading it further only costs time.
            mark_broken(src, None);
            continue;
        }
        let doc = match YamlDoc::parse(&src.file, &src.text) {
            Ok(doc) => doc,
            Err(d) => {
                diags.push(d);
                mark_broken(src, None);
                continue;
            }
        };
        if let Some(schema) = schema {
            match doc.to_json() {
                Ok(json) => {
                    for v in schema.check(&json) {
                        if v.unexpected.is_empty() {
                            diags.push(doc.diag_at(&v.path, v.message));
                        }
                        for key in &v.unexpected {
                            let mut p = v.path.clone();
                            p.push(PathSeg::Key(key.clone()));
                            diags.push(doc.diag_pos(doc.index.locate_key(&p), unknown_key_message(&v.path, key)));
                        }
                    }
                }
                Err(d) => diags.push(d),
            }
        }
        if schema.is_none() {
            // The schema allows no null; the typed model would read one as
            // "not set" and inherit a more permissive value.
            diags.extend(null_values(&doc));
        }
        if diags.len() > before {
            // Types and rules would repeat what the schema said.
            mark_broken(src, claimed_flow(&doc));
            continue;
        }
        match doc.deserialize::<PolicyFile>() {
            Ok(file) => parsed.push((src, doc, file)),
            Err(d) => {
                diags.push(d);
                mark_broken(src, claimed_flow(&doc));
            }
        }
    }

    // The default: checked on its own (over the built-in defaults).
    let mut base = Policy::default();
    let defaults: Vec<_> = parsed.iter().filter(|(s, ..)| s.kind == FileKind::Default).collect();
    for (i, (src, doc, file)) in defaults.iter().enumerate() {
        let before = diags.len();
        if i > 0 {
            diags.push(doc.diag_pos(
                Position::START,
                format!("a second default policy (the first is {})", defaults[0].0.file),
            ));
        }
        if file.flow.is_some() {
            diags.push(doc.diag_at(
                &path!["flow"],
                "the default policy applies to every flow: remove `flow`",
            ));
        }
        let policy = Policy::default().merged(file);
        diags.extend(check_policy(&policy).into_iter().map(|p| p.diagnostic(doc)));
        if diags.len() > before {
            mark_broken(src, None);
        } else if i == 0 {
            base = policy;
            set.default = Some(SourcedFile {
                source: src.file.clone(),
                file: file.clone(),
            });
        }
    }

    // Flow files: each on its effective policy; problems the default alone
    // causes were reported there and are not repeated for every flow.
    let mut claimed: BTreeMap<&str, &str> = BTreeMap::new();
    for (src, doc, file) in parsed.iter().filter(|(s, ..)| s.kind == FileKind::Flow) {
        let before = diags.len();
        let Some(flow) = file.flow.as_deref() else {
            diags.push(doc.diag_pos(
                Position::START,
                "missing `flow`: name the AppFlow flow this file governs",
            ));
            continue;
        };
        if let Some(first) = claimed.insert(flow, &src.file) {
            diags.push(doc.diag_at(&path!["flow"], format!("flow \"{flow}\" is already claimed by {first}")));
            claimed.insert(flow, first);
        }
        let policy = base.clone().merged(file);
        diags.extend(
            check_policy(&policy)
                .into_iter()
                .filter(|p| p.set_in(doc).is_some())
                .map(|p| p.diagnostic(doc)),
        );
        if diags.len() > before {
            mark_broken(src, Some(flow.to_owned()));
        } else {
            set.flows.insert(
                flow.to_owned(),
                SourcedFile {
                    source: src.file.clone(),
                    file: file.clone(),
                },
            );
        }
    }

    diags.sort();
    diags.dedup();
    Validated {
        diagnostics: diags,
        set,
        broken_default,
        broken_flows,
    }
}

fn unknown_key_message(parent: &[PathSeg], key: &str) -> String {
    let fields = schema_fields(parent);
    let hint = suggest(key, fields.iter().map(String::as_str))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    let at = if parent.is_empty() {
        String::new()
    } else {
        format!(" in {}", display_path(parent))
    };
    format!("unknown field `{key}`{at}{hint}")
}

/// The fields the policy schema allows in the mapping at `parent` (empty
/// when it is not a mapping of named fields): what an unknown key is
/// compared with, read from the schema so that it names every field the
/// types have.
fn schema_fields(parent: &[PathSeg]) -> Vec<String> {
    static SCHEMA: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(crate::schema::policy_schema);
    let root = &*SCHEMA;
    let resolve = |mut node: &'static serde_json::Value| {
        while let Some(target) = node.get("$ref").and_then(serde_json::Value::as_str) {
            match target.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(next) => node = next,
                None => break,
            }
        }
        node
    };
    let mut node = resolve(root);
    for seg in parent {
        let next = match seg {
            PathSeg::Key(k) => node.get("properties").and_then(|p| p.get(k)).or_else(|| {
                // A map keyed by pattern (`overrides`): its one value schema.
                node.get("patternProperties")
                    .and_then(serde_json::Value::as_object)
                    .and_then(|m| m.values().next())
            }),
            PathSeg::Index(_) => node.get("items"),
        };
        let Some(next) = next else { return Vec::new() };
        node = resolve(next);
    }
    node.get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("retry_window: 366d", "retry_window is 366d; at most 365d"),
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

    #[test]
    fn suggestions_are_close_matches_only() {
        assert_eq!(
            suggest("max_retry", ["max_retries", "retry_window"]),
            Some("max_retries")
        );
        assert_eq!(suggest("zzz", ["max_retries"]), None);
    }

    #[test]
    fn unknown_keys_are_matched_against_the_schemas_fields() {
        let key = |k: &str| PathSeg::Key(k.into());
        let top = schema_fields(&[]);
        for f in [
            "flow",
            "enabled",
            "max_retries",
            "retry_window",
            "backoff",
            "skip_errors",
            "error_classes",
        ] {
            assert!(top.iter().any(|t| t == f), "{f} in {top:?}");
        }
        assert!(
            top.iter().any(|t| t == "overrides")
                && top.iter().any(|t| t == "reactivate")
                && top.iter().any(|t| t == "notify")
        );
        let backoff = ["initial_delay", "jitter", "max_delay", "multiplier", "strategy"];
        assert_eq!(schema_fields(&[key("backoff")]), backoff);
        assert_eq!(schema_fields(&[key("overrides"), key("sf"), key("backoff")]), backoff);
        assert_eq!(schema_fields(&[key("reactivate"), key("backoff")]), backoff);
        assert_eq!(
            schema_fields(&[key("overrides"), key("sf")]),
            ["backoff", "max_retries", "retry_window"]
        );
        assert_eq!(
            schema_fields(&[key("error_classes"), PathSeg::Index(0)]),
            ["name", "patterns"]
        );
        assert!(schema_fields(&[key("notify")]).is_empty());
        assert_eq!(
            unknown_key_message(&[key("reactivate")], "max_reactivation"),
            "unknown field `max_reactivation` in reactivate; did you mean `max_reactivations`?"
        );
    }
}
