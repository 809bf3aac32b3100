//! Validation of a whole policy set: syntax, schema (through [`SchemaCheck`],
//! which the CLI implements with the committed JSON Schema), types, the
//! semantic rules on each effective policy (module `rules`, docs/design.md §3),
//! and the rules across files. Module `suggest` makes the "did you mean" hints.

mod rules;
pub mod suggest;

pub use rules::{
    MAX_RETRIES_LIMIT, MULTIPLIER_RANGE, Problem, SSM_MAX_VALUE_BYTES, SSM_STANDARD_VALUE_BYTES, check_policy,
};
pub use suggest::suggest;
use suggest::unknown_key_message;

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, Position};
use crate::field_path::{FieldPath, PathSeg, display_path};
use crate::model::{Policy, PolicyFile};
use crate::path;
use crate::set::{BrokenPolicy, DEFAULT_SOURCE, FlowPolicy, PolicySet, SourcedFile};
use crate::yaml::YamlDoc;

/// The kind of a policy file: the set's default or a flow's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `policies/default.yaml` (or `<prefix>/default`): applies to every flow, has no `flow` key.
    Default,
    /// A file under `policies/flows/` (or `<prefix>/flows/...`): governs the flow its `flow` key names.
    Flow,
}

/// One policy file's text and where it came from.
#[derive(Debug, Clone)]
pub struct PolicySource {
    /// How diagnostics name the file (a path, or an SSM parameter name).
    pub file: String,
    /// The file's whole text, as read (a leading byte-order mark is dropped when parsing).
    pub text: String,
    /// Whether it is the default or a flow's file: the rules across files differ.
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
    /// The validator's message, shown after the position.
    pub message: String,
}

/// Validates one document against the policy JSON Schema.
pub trait SchemaCheck {
    /// The violations of `doc` (the file as JSON); empty when it conforms.
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
    /// Flow files that cannot be read far enough to know which flow they
    /// govern (YAML refused by the first pass, too large, `flow` missing or
    /// not a string). Each might govern any flow (the file name is free):
    /// every flow resolves as broken while one exists.
    pub unattributed: Vec<String>,
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
        // A flow file whose flow cannot be read might be this flow's: the
        // Lambda, reading that text under this flow's parameter, fails closed,
        // so no flow is decided on the default (or on another file) meanwhile.
        if let Some(first) = self.unattributed.first() {
            return FlowPolicy::Broken(BrokenPolicy {
                source: first.clone(),
                problems: self
                    .diagnostics
                    .iter()
                    .filter(|d| self.unattributed.contains(&d.file))
                    .cloned()
                    .collect(),
            });
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
    let mut unattributed: Vec<String> = Vec::new();
    let mut parsed: Vec<(&PolicySource, YamlDoc, PolicyFile)> = Vec::new();
    let mut mark_broken = |src: &PolicySource, flow: Option<String>| match src.kind {
        FileKind::Default => {
            broken_default.get_or_insert_with(|| src.file.clone());
        }
        FileKind::Flow => match flow {
            Some(flow) => {
                broken_flows.entry(flow).or_insert_with(|| src.file.clone());
            }
            None => unattributed.push(src.file.clone()),
        },
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
            mark_broken(src, None);
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
        unattributed,
    }
}
