//! `appflow-retry validate`: every problem in every file, located.

use std::path::Path;

use appflow_retry_policy::schema::policy_schema_json;
use appflow_retry_policy::{Diagnostic, FileKind, Position, Validated, validate_sources};

use crate::CliError;
use crate::files::{SetOnDisk, read_dir, read_path};
use crate::schema_check::JsonSchemaCheck;

/// What `validate` found.
#[derive(Debug)]
pub struct Report {
    /// Every problem, sorted by file and position; empty when all passed.
    pub diagnostics: Vec<Diagnostic>,
    /// How many policy files were read.
    pub files_checked: usize,
    /// Files and folders under a policy directory that were not read.
    pub unread: Vec<crate::files::Unread>,
}

/// Validates each path (a policy directory or one file).
pub fn validate_paths(paths: &[&Path]) -> Result<Report, CliError> {
    let schema = JsonSchemaCheck::new(&appflow_retry_policy::schema::policy_schema())?;
    let mut report = Report {
        diagnostics: Vec::new(),
        files_checked: 0,
        unread: Vec::new(),
    };
    for path in paths {
        let set = read_path(path)?;
        report.files_checked += set.sources.len() + set.not_utf8.len();
        report.unread.extend(set.unread.iter().cloned());
        report.diagnostics.extend(stale_schema(&set));
        report.diagnostics.extend(validate_set(&set, &schema).diagnostics);
    }
    Ok(report)
}

/// Reads the policy directory and validates it as the Lambdas validate what
/// they read from SSM: the set the flows' policies are resolved in, with
/// every problem found.
pub fn validate_dir(policies: &Path) -> Result<Validated, CliError> {
    let set = read_dir(policies)?;
    let schema = JsonSchemaCheck::new(&appflow_retry_policy::schema::policy_schema())?;
    Ok(validate_set(&set, &schema))
}

/// Validates one set read from disk. A file that is not UTF-8 is a problem
/// of its own and fails closed as an unreadable file does: a default breaks
/// every flow, a flow file might be any flow's (Terraform's `file()` refuses
/// such a file, so it never reaches SSM either).
pub fn validate_set(set: &SetOnDisk, schema: &JsonSchemaCheck) -> Validated {
    let mut validated = validate_sources(&set.sources, Some(schema));
    for (d, kind) in &set.not_utf8 {
        match kind {
            FileKind::Default => validated.broken_default = Some(d.file.clone()),
            FileKind::Flow => validated.unattributed.push(d.file.clone()),
        }
        validated.diagnostics.push(d.clone());
    }
    validated.diagnostics.sort_by(|a, b| {
        (&a.file, a.position.line, a.position.column).cmp(&(&b.file, b.position.line, b.position.column))
    });
    validated
}

/// A `schema.json` beside the policies that differs from the schema this
/// build generates: editors would check against the wrong rules.
fn stale_schema(set: &SetOnDisk) -> Option<Diagnostic> {
    let (path, text) = set.schema_file.as_ref()?;
    (text != &policy_schema_json()).then(|| Diagnostic {
        file: path.display().to_string(),
        position: Position::START,
        message: "stale: regenerate it with `appflow-retry schema > policies/schema.json`".into(),
    })
}

/// The source line a problem points at, with a caret under its column, for
/// a person at a terminal (CI and editors read the one-line form alone):
///
/// ```text
///     4 |    initial_delay: 1m
///       |    ^
/// ```
///
/// None when the line is not in `text` (a problem of the whole file).
pub fn source_excerpt(text: &str, position: Position) -> Option<String> {
    let line = text.lines().nth(position.line.checked_sub(1)?)?;
    let number = position.line.to_string();
    let gutter = " ".repeat(number.len());
    // The caret under the column's character: tabs kept, so that it lines up.
    let pad: String = line
        .chars()
        .take(position.column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    Some(format!("  {number} | {line}\n  {gutter} | {pad}^"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_excerpt_puts_the_caret_under_the_column() {
        let text = "flow: a-b\nbackoff:\n  strategy: fixed\n   initial_delay: 1m\n";
        assert_eq!(
            source_excerpt(text, Position { line: 4, column: 4 }).unwrap(),
            "  4 |    initial_delay: 1m\n    |    ^"
        );
        assert_eq!(
            source_excerpt("a:\n\tb: 1\n", Position { line: 2, column: 2 }).unwrap(),
            "  2 | \tb: 1\n    | \t^"
        );
        assert_eq!(source_excerpt(text, Position { line: 9, column: 1 }), None);
        assert_eq!(source_excerpt(text, Position { line: 0, column: 0 }), None);
    }
}
