//! Paths into a policy document (`overrides.throttling.backoff`,
//! `error_classes[1]`): how the rules name the fields involved and how a
//! diagnostic is located.

/// One segment of a path into a YAML document.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    /// A mapping key, e.g. `backoff` in `overrides.throttling.backoff`.
    Key(String),
    /// A list index from 0, e.g. the `1` of `error_classes[1]`.
    Index(usize),
}

impl From<&str> for PathSeg {
    fn from(s: &str) -> Self {
        PathSeg::Key(s.to_owned())
    }
}

impl From<usize> for PathSeg {
    fn from(i: usize) -> Self {
        PathSeg::Index(i)
    }
}

/// A path into a document, e.g. `overrides.throttling.backoff`.
pub type FieldPath = Vec<PathSeg>;

/// Builds a [`FieldPath`]: `path!["backoff", "max_delay"]`, `path!["error_classes", 0usize]`.
#[macro_export]
macro_rules! path {
    ($($seg:expr),* $(,)?) => {{
        let path: $crate::field_path::FieldPath = vec![$($crate::field_path::PathSeg::from($seg)),*];
        path
    }};
}

/// Renders a path as users write it: `overrides.throttling.backoff`, `error_classes[1]`.
pub fn display_path(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}
