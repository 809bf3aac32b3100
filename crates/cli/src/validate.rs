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
    /// The flows the files govern, each with its file (usable or not).
    pub governed: std::collections::BTreeMap<String, String>,
    /// Warnings about valid files: settings the service cannot honour in
    /// full (a window the reconciliation sweep may never look inside).
    pub warnings: Vec<String>,
}

/// The shortest `retry_window` (the longest of a policy's windows) inside
/// which the reconciliation sweep surely looks: its grace plus the default
/// `sweep_interval_minutes` (15). A failure whose event was lost in a
/// shorter window can pass it between two sweeps (docs/design.md §5.9).
pub const SWEEP_REACH_MINUTES: u64 = appflow_retry_runtime::SWEEP_GRACE_MINUTES.unsigned_abs() + 15;

/// The warning for a policy whose longest window the sweep may miss.
fn short_window(source: &str, policy: &appflow_retry_policy::Policy) -> Option<String> {
    let window = policy.longest_window();
    (window.as_secs() < SWEEP_REACH_MINUTES * 60).then(|| {
        format!(
            "{source}: retry_window {window} is shorter than {SWEEP_REACH_MINUTES}m: a failure whose event AppFlow loses can pass its window before the reconciliation sweep looks (its grace of {}m plus the default sweep_interval_minutes of 15), and is then never decided; a window of {SWEEP_REACH_MINUTES}m or more is swept at least once",
            appflow_retry_runtime::SWEEP_GRACE_MINUTES
        )
    })
}

/// Validates each path (a policy directory or one file).
pub fn validate_paths(paths: &[&Path]) -> Result<Report, CliError> {
    let schema = JsonSchemaCheck::new(&appflow_retry_policy::schema::policy_schema())?;
    let mut report = Report {
        diagnostics: Vec::new(),
        files_checked: 0,
        unread: Vec::new(),
        governed: std::collections::BTreeMap::new(),
        warnings: Vec::new(),
    };
    for path in paths {
        let set = read_path(path)?;
        report.files_checked += set.sources.len() + set.not_utf8.len();
        report.unread.extend(set.unread.iter().cloned());
        report.diagnostics.extend(stale_schema(&set));
        let validated = validate_set(&set, &schema);
        report.governed.extend(
            validated
                .set
                .flows
                .iter()
                .map(|(flow, f)| (flow.clone(), f.source.clone())),
        );
        report.governed.extend(validated.broken_flows.clone());
        if let Some(default) = &validated.set.default
            && let Ok(resolved) = validated.set.resolve("")
        {
            report.warnings.extend(short_window(&default.source, &resolved.policy));
        }
        for (flow, file) in &validated.set.flows {
            if let Ok(resolved) = validated.set.resolve(flow) {
                report.warnings.extend(short_window(&file.source, &resolved.policy));
            }
        }
        report.diagnostics.extend(validated.diagnostics);
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

/// How `validate` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:column: message` lines on stderr, for people and editors.
    Text,
    /// One JSON document on stdout, for tools.
    Json,
    /// GitHub Actions workflow commands on stdout: each problem an error
    /// annotation on its file and line in the pull request.
    Github,
}

/// The report as one JSON document: `ok`, `files_checked`, `problems`
/// (file, line, column, message) and `not_read` (path, why).
pub fn render_json(report: &Report) -> String {
    let problems: Vec<serde_json::Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            serde_json::json!({
                "file": d.file, "line": d.position.line, "column": d.position.column, "message": d.message,
            })
        })
        .collect();
    let not_read: Vec<serde_json::Value> = report
        .unread
        .iter()
        .map(|u| serde_json::json!({"path": u.path.display().to_string(), "why": u.why}))
        .collect();
    serde_json::json!({
        "ok": report.diagnostics.is_empty(),
        "files_checked": report.files_checked,
        "problems": problems,
        "not_read": not_read,
        "warnings": report.warnings,
    })
    .to_string()
}

/// The report as GitHub Actions workflow commands: `::error` per problem,
/// `::warning` per file not read, then a notice with the count.
pub fn render_github(report: &Report) -> String {
    let mut out = String::new();
    for d in &report.diagnostics {
        out.push_str(&format!(
            "::error file={},line={},col={},title=appflow-retry validate::{}\n",
            property(&d.file),
            d.position.line.max(1),
            d.position.column.max(1),
            data(&d.message)
        ));
    }
    for u in &report.unread {
        out.push_str(&format!(
            "::warning file={},title=not read::{}\n",
            property(&u.path.display().to_string()),
            data(&u.why)
        ));
    }
    for w in &report.warnings {
        out.push_str(&format!("::warning title=appflow-retry validate::{}\n", data(w)));
    }
    out.push_str(&format!(
        "::notice title=appflow-retry validate::{} problem(s) in {} policy file(s)\n",
        report.diagnostics.len(),
        report.files_checked
    ));
    out
}

/// A workflow command's message, escaped as GitHub reads it.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value (also `:` and `,`).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
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
    fn github_annotations_escape_what_github_reads() {
        let report = Report {
            diagnostics: vec![Diagnostic {
                file: "policies/flows/a,b.yaml".into(),
                position: Position { line: 3, column: 7 },
                message: "100% wrong:\nsee".into(),
            }],
            files_checked: 2,
            unread: vec![],
            governed: Default::default(),
            warnings: vec![],
        };
        assert_eq!(
            render_github(&report),
            "::error file=policies/flows/a%2Cb.yaml,line=3,col=7,title=appflow-retry validate::100%25 wrong:%0Asee\n\
             ::notice title=appflow-retry validate::1 problem(s) in 2 policy file(s)\n"
        );
        let json: serde_json::Value = serde_json::from_str(&render_json(&report)).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["problems"][0]["line"], 3);
        assert_eq!(json["problems"][0]["file"], "policies/flows/a,b.yaml");
    }

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
