//! A policy file's YAML with positions: every problem found in a file is
//! reported as `file:line:column: message` ([`crate::diagnostic`]).
//!
//! serde_yaml parses and deserializes; it keeps no positions for values, so a
//! second pass over yaml-rust2's event stream records where each path
//! (`backoff.max_delay`, `error_classes[1].patterns[0]`, ...) starts.
//!
//! That pass runs first and refuses what a policy never needs but a hostile
//! file can use to exhaust memory or time (docs/design.md §6.2): anchors and
//! aliases (serde_yaml bounds alias *jumps*, not the expanded size, so a few
//! KB of nested aliases expand to gigabytes), tags, and nesting deeper than
//! [`MAX_DEPTH`]. Only a file that passes it reaches serde_yaml.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::diagnostic::{Diagnostic, Position};
use crate::field_path::{FieldPath, PathSeg, display_path};

/// Largest policy file read at all; anything bigger cannot be a policy
/// (SSM holds 8 KB) and is not parsed.
pub const MAX_READ_BYTES: usize = 1 << 20;

/// Deepest nesting of mappings and sequences a policy file may have (a
/// policy needs 4: `overrides.<class>.backoff.<field>`).
pub const MAX_DEPTH: usize = 16;

#[derive(Clone, Copy, Debug)]
struct NodePos {
    /// Where the key of a mapping entry starts (None for sequence items and the root).
    key: Option<Position>,
    /// Where the value starts.
    value: Position,
    scalar: bool,
}

/// Where each path of one YAML document starts.
#[derive(Clone, Debug, Default)]
pub struct PositionIndex {
    nodes: HashMap<FieldPath, NodePos>,
    /// The first construct a policy may not use, where it is, and why.
    refused: Option<(Position, String)>,
}

/// YAML that a policy file may not use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// An anchor (`&name`): refused with aliases, which would expand exponentially.
    Anchor,
    /// An alias (`*name`): a few KB of nested aliases expand to gigabytes.
    Alias,
    /// A tag (`!!str`, `!custom`): policies never need one.
    Tag,
    /// Nesting deeper than [`MAX_DEPTH`] levels.
    TooDeep,
    /// A key given twice in one mapping (YAML forbids it; some readers keep
    /// the last, some the first).
    DuplicateKey,
}

impl Refused {
    fn message(self) -> String {
        match self {
            Refused::Anchor => "YAML anchors (`&name`) are not allowed in a policy: write the value out".into(),
            Refused::Alias => "YAML aliases (`*name`) are not allowed in a policy: write the value out".into(),
            Refused::Tag => "YAML tags (`!tag`, `!!type`) are not allowed in a policy".into(),
            Refused::TooDeep => format!("nested deeper than {MAX_DEPTH} levels: no policy is"),
            Refused::DuplicateKey => "a key given twice in one mapping".into(),
        }
    }
}

impl PositionIndex {
    /// Indexes `text`. A document yaml-rust2 cannot read leaves the index
    /// partial: lookups then fall back to the nearest known parent. Indexing
    /// stops at the first refused construct (see [`Refused`]).
    pub fn build(text: &str) -> Self {
        let mut builder = IndexBuilder::default();
        // Event by event, not `Parser::load`: that recurses once per level of
        // nesting, and a hostile file nests a million levels deep. Errors are
        // serde_yaml's to report; keep whatever was indexed.
        let mut parser = Parser::new_from_str(text).keep_tags(true);
        while !builder.done {
            match parser.next_token() {
                Ok((Event::StreamEnd, _)) => break,
                Ok((ev, mark)) => builder.on_event(ev, mark),
                // The scanner looks ahead through flow collections and gives
                // up past 255 levels before any event: that is nesting too.
                Err(e) if e.info().contains("recursion limit") => {
                    builder.refuse(position(*e.marker()), Refused::TooDeep.message());
                    break;
                }
                Err(_) => break,
            }
        }
        PositionIndex {
            nodes: builder.nodes,
            refused: builder.refused,
        }
    }

    /// Whether the document sets this path.
    pub fn contains(&self, path: &[PathSeg]) -> bool {
        self.nodes.contains_key(path)
    }

    /// Where to point for a problem with `path`: a scalar's value, a
    /// mapping entry's key otherwise; a path the document lacks points at
    /// its nearest parent that exists.
    pub fn locate(&self, path: &[PathSeg]) -> Position {
        for len in (0..=path.len()).rev() {
            if let Some(node) = self.nodes.get(&path[..len]) {
                if len == path.len() && node.scalar {
                    return node.value;
                }
                return node.key.unwrap_or(node.value);
            }
        }
        Position::START
    }

    /// Where the key of a mapping entry starts, e.g. for an unknown field.
    pub fn locate_key(&self, path: &[PathSeg]) -> Position {
        match self.nodes.get(path) {
            Some(node) => node.key.unwrap_or(node.value),
            None => self.locate(path),
        }
    }
}

enum Frame {
    Map {
        path: FieldPath,
        pending_key: Option<(String, Position)>,
    },
    Seq {
        path: FieldPath,
        next: usize,
    },
}

#[derive(Default)]
struct IndexBuilder {
    stack: Vec<Frame>,
    nodes: HashMap<FieldPath, NodePos>,
    done: bool,
    refused: Option<(Position, String)>,
}

impl IndexBuilder {
    /// Stops indexing: the file is refused as a whole.
    fn refuse(&mut self, pos: Position, message: String) {
        self.refused.get_or_insert((pos, message));
        self.done = true;
    }

    /// Called for each node that starts; returns its path when it is a value
    /// (None when it is a mapping key, which is remembered instead).
    fn node(&mut self, pos: Position, key_text: Option<&str>, scalar: bool) -> Option<FieldPath> {
        let (path, key) = match self.stack.last_mut() {
            None => (Vec::new(), None),
            Some(Frame::Seq { path, next }) => {
                let mut p = path.clone();
                p.push(PathSeg::Index(*next));
                *next += 1;
                (p, None)
            }
            Some(Frame::Map { path, pending_key }) => match pending_key.take() {
                None => {
                    // A key. Complex keys (mappings as keys) get a placeholder.
                    *pending_key = Some((key_text.unwrap_or("?").to_owned(), pos));
                    return None;
                }
                Some((k, key_pos)) => {
                    let mut p = path.clone();
                    p.push(PathSeg::Key(k));
                    (p, Some(key_pos))
                }
            },
        };
        if let Some(first) = self.nodes.get(&path) {
            let first = first.key.unwrap_or(first.value);
            let at = key.unwrap_or(pos);
            let name = display_path(&path);
            self.refuse(
                at,
                format!(
                    "{}: `{name}` (first at line {})",
                    Refused::DuplicateKey.message(),
                    first.line
                ),
            );
            return None;
        }
        self.nodes.entry(path.clone()).or_insert(NodePos {
            key,
            value: pos,
            scalar,
        });
        Some(path)
    }
}

fn position(mark: Marker) -> Position {
    Position {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

impl MarkedEventReceiver for IndexBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.done {
            return;
        }
        let pos = position(mark);
        let refused = match &ev {
            Event::Alias(_) => Some(Refused::Alias),
            Event::Scalar(_, _, anchor, tag) | Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if *anchor > 0 {
                    Some(Refused::Anchor)
                } else if tag.is_some() {
                    Some(Refused::Tag)
                } else if !matches!(ev, Event::Scalar(..)) && self.stack.len() >= MAX_DEPTH {
                    Some(Refused::TooDeep)
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(r) = refused {
            self.refuse(pos, r.message());
            return;
        }
        match ev {
            Event::Scalar(text, ..) => {
                self.node(pos, Some(&text), true);
            }
            Event::Alias(_) => {
                self.node(pos, None, true);
            }
            Event::MappingStart(..) => {
                if let Some(path) = self.node(pos, None, false) {
                    self.stack.push(Frame::Map {
                        path,
                        pending_key: None,
                    });
                } else {
                    // A mapping used as a key: index nothing below it.
                    self.stack.push(Frame::Map {
                        path: vec![PathSeg::Key("?".into())],
                        pending_key: None,
                    });
                }
            }
            Event::SequenceStart(..) => {
                let path = self
                    .node(pos, None, false)
                    .unwrap_or_else(|| vec![PathSeg::Key("?".into())]);
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::DocumentEnd => self.done = true,
            _ => {}
        }
    }
}

/// A parsed YAML policy text with its position index.
#[derive(Debug)]
pub struct YamlDoc {
    /// How diagnostics name the file (a path, or an SSM parameter name).
    pub file: String,
    /// The parsed document; an empty text is an empty mapping.
    pub value: serde_yaml::Value,
    /// Where each path of the document starts, for locating diagnostics.
    pub index: PositionIndex,
}

impl YamlDoc {
    /// Parses `text`; a syntax error (or an alias bomb, or a file too large
    /// to be a policy) is one located diagnostic.
    pub fn parse(file: &str, text: &str) -> Result<Self, Diagnostic> {
        // A byte-order mark is an editor's habit, not a second document.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.len() > MAX_READ_BYTES {
            return Err(Diagnostic {
                file: file.to_owned(),
                position: Position::START,
                message: format!(
                    "file is {} bytes; a policy must fit in an SSM parameter (8 KB)",
                    text.len()
                ),
            });
        }
        // The event pass first: it is linear in the text and expands nothing.
        let index = PositionIndex::build(text);
        if let Some((position, message)) = index.refused {
            return Err(Diagnostic {
                file: file.to_owned(),
                position,
                message,
            });
        }
        let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
            let message = e.to_string();
            // Some errors (control characters) say where in a byte offset
            // only, and give 1:1 as their location.
            let position = match (offset_in(&message), e.location()) {
                (Some(at), _) => position_of(text, at),
                (None, Some(l)) => Position {
                    line: l.line(),
                    column: l.column(),
                },
                (None, None) => Position::START,
            };
            let (position, message) = explain_syntax(text, position, &strip_location(&message));
            Diagnostic {
                file: file.to_owned(),
                position,
                message: format!("invalid YAML: {message}"),
            }
        })?;
        // An empty document is an empty policy: it overrides nothing.
        let value = match value {
            serde_yaml::Value::Null => serde_yaml::Value::Mapping(Default::default()),
            v => v,
        };
        Ok(YamlDoc {
            file: file.to_owned(),
            value,
            index,
        })
    }

    /// A diagnostic at `path` in this file.
    pub fn diag_at(&self, path: &[PathSeg], message: impl Into<String>) -> Diagnostic {
        self.diag_pos(self.index.locate(path), message)
    }

    /// A diagnostic at `position` in this file.
    pub fn diag_pos(&self, position: Position, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            position,
            message: message.into(),
        }
    }

    /// The document as JSON, for JSON Schema validation.
    pub fn to_json(&self) -> Result<serde_json::Value, Diagnostic> {
        serde_json::to_value(&self.value)
            .map_err(|e| self.diag_pos(Position::START, format!("not representable as JSON: {e}")))
    }

    /// Deserializes the document, locating the first error by its path.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        serde_path_to_error::deserialize(self.value.clone()).map_err(|e| {
            let path = convert_path(e.path());
            let inner = e.into_inner().to_string();
            let message = if path.is_empty() {
                inner
            } else {
                format!("{}: {inner}", display_path(&path))
            };
            let position = match unknown_field(&message) {
                Some(key) => {
                    let mut p = path.clone();
                    p.push(PathSeg::Key(key));
                    self.index.locate_key(&p)
                }
                None => self.index.locate(&path),
            };
            self.diag_pos(position, message)
        })
    }
}

/// The byte offset in a libyaml message's "at position N".
fn offset_in(message: &str) -> Option<usize> {
    let rest = message.split(" at position ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The 1-based line and column of a byte offset in `text`.
fn position_of(text: &str, offset: usize) -> Position {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Position { line, column }
}

fn convert_path(path: &serde_path_to_error::Path) -> FieldPath {
    path.iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Seq { index } => Some(PathSeg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(PathSeg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(PathSeg::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect()
}

/// The key named by serde's "unknown field `x`" message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_owned())
}

/// serde_yaml puts " at line L column C" after the problem; the diagnostic
/// carries that position, so the first such span is dropped (later ones,
/// such as where an unclosed list began, stay).
fn strip_location(message: &str) -> String {
    let Some(start) = message.find(" at line ") else {
        return message.to_owned();
    };
    let rest = &message[start + " at line ".len()..];
    let after_column = rest.find(" column ").map(|i| {
        let digits = &rest[i + " column ".len()..];
        i + " column ".len() + digits.bytes().take_while(u8::is_ascii_digit).count()
    });
    match after_column {
        Some(end) => format!("{}{}", &message[..start], &rest[end..]),
        None => message[..start].to_owned(),
    }
}

/// A syntax error in words a person can act on. A tab in a line's
/// indentation (YAML indents with spaces only) up to the error's line is
/// named where it is, whatever the parser said; "mapping values are not allowed" almost always means a
/// key indented unlike the keys around it.
fn explain_syntax(text: &str, position: Position, message: &str) -> (Position, String) {
    // Up to the error's line: a tab after it (inside a block scalar, say)
    // is not what the parser tripped on.
    for (i, line) in text.lines().enumerate().take(position.line.max(1)) {
        let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        if let Some(at) = indent.find('\t') {
            return (
                Position {
                    line: i + 1,
                    column: at + 1,
                },
                format!(
                    "a tab in the indentation of line {}: YAML indents with spaces only (replace the tab with spaces)",
                    i + 1
                ),
            );
        }
    }
    if message.starts_with("mapping values are not allowed") {
        let lines: Vec<&str> = text.lines().collect();
        let indent_of = |l: &str| l.chars().take_while(|c| *c == ' ').count();
        if let Some(line) = lines.get(position.line.saturating_sub(1)) {
            let above = lines[..position.line.saturating_sub(1)]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
            let own = indent_of(line);
            let hint = above.map_or_else(String::new, |a| {
                format!(" ({own} spaces; the line above has {})", indent_of(a))
            });
            return (
                Position {
                    line: position.line,
                    column: own + 1,
                },
                format!(
                    "a key where none can start: check the indentation of line {}{hint}",
                    position.line
                ),
            );
        }
    }
    (position, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path;

    const DOC: &str = "\
flow: x
max_retries: 5
backoff:
  strategy: fixed
  initial_delay: 1h
error_classes:
  - name: a
    patterns: [\"p1\", \"p2\"]
overrides:
  a: { max_retries: 2 }
";

    #[test]
    fn positions_are_one_based_and_point_at_values_or_keys() {
        let idx = PositionIndex::build(DOC);
        assert_eq!(idx.locate(&path!["max_retries"]), Position { line: 2, column: 14 });
        assert_eq!(idx.locate(&path!["backoff"]), Position { line: 3, column: 1 });
        assert_eq!(
            idx.locate(&path!["backoff", "initial_delay"]),
            Position { line: 5, column: 18 }
        );
        assert_eq!(
            idx.locate_key(&path!["backoff", "initial_delay"]),
            Position { line: 5, column: 3 }
        );
        assert_eq!(
            idx.locate(&path!["error_classes", 0usize, "name"]),
            Position { line: 7, column: 11 }
        );
        assert_eq!(
            idx.locate(&path!["error_classes", 0usize, "patterns", 1usize]),
            Position { line: 8, column: 22 }
        );
        assert_eq!(
            idx.locate(&path!["overrides", "a", "max_retries"]),
            Position { line: 10, column: 21 }
        );
        // Missing paths fall back to the nearest parent.
        assert_eq!(idx.locate(&path!["backoff", "jitter"]), Position { line: 3, column: 1 });
        assert!(idx.contains(&path!["backoff", "strategy"]));
        assert!(!idx.contains(&path!["backoff", "jitter"]));
    }

    #[test]
    fn a_tab_in_the_indentation_is_named_where_it_is() {
        let err = YamlDoc::parse("f.yaml", "flow: a-b\nbackoff:\n  \tstrategy: fixed\n").unwrap_err();
        assert_eq!(err.position, Position { line: 3, column: 3 });
        assert_eq!(
            err.message,
            "invalid YAML: a tab in the indentation of line 3: YAML indents with spaces only (replace the tab with spaces)"
        );
    }

    #[test]
    fn a_key_indented_unlike_its_neighbours_is_named_with_both_indents() {
        let err = YamlDoc::parse(
            "f.yaml",
            "flow: a-b\nbackoff:\n  strategy: fixed\n   initial_delay: 1m\n",
        )
        .unwrap_err();
        assert_eq!(err.position, Position { line: 4, column: 4 });
        assert_eq!(
            err.message,
            "invalid YAML: a key where none can start: check the indentation of line 4 (3 spaces; the line above has 2)"
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = YamlDoc::parse("f.yaml", "max_retries: 3\nbackoff: [1, 2\n").unwrap_err();
        assert_eq!(err.file, "f.yaml");
        assert!(err.message.starts_with("invalid YAML:"), "{err}");
        assert_eq!(
            err.message,
            "invalid YAML: did not find expected ',' or ']', while parsing a flow sequence at line 2 column 10"
        );
        assert_eq!(err.position, Position { line: 3, column: 1 });
    }

    #[test]
    fn deserialize_errors_point_at_the_field() {
        let doc = YamlDoc::parse("f.yaml", "max_retries: 3\nbackoff:\n  strategy: fast\n").unwrap();
        let err = doc.deserialize::<crate::model::PolicyFile>().unwrap_err();
        assert_eq!(err.position, Position { line: 3, column: 13 }, "{err}");
        assert!(
            err.message.starts_with("backoff.strategy: unknown variant `fast`"),
            "{err}"
        );

        let doc = YamlDoc::parse("f.yaml", "max_retries: 3\nbackoff:\n  delay: 1s\n").unwrap();
        let err = doc.deserialize::<crate::model::PolicyFile>().unwrap_err();
        assert_eq!(err.position, Position { line: 3, column: 3 }, "{err}");
    }

    #[test]
    fn empty_document_is_an_empty_mapping() {
        let doc = YamlDoc::parse("f.yaml", "# only a comment\n").unwrap();
        assert_eq!(
            doc.deserialize::<crate::model::PolicyFile>().unwrap(),
            Default::default()
        );
    }
}
