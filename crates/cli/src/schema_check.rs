//! JSON Schema validation of policy documents with the `jsonschema` crate.

use appflow_retry_policy::duration::{DURATION_PATTERN, Duration};
use appflow_retry_policy::field_path::{PathSeg, display_path};
use appflow_retry_policy::model::{CLASS_NAME_PATTERN, FLOW_NAME_PATTERN};
use appflow_retry_policy::{SchemaCheck, SchemaViolation};
use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde_json::Value;

use crate::CliError;

/// A compiled policy schema.
#[derive(Debug)]
pub struct JsonSchemaCheck {
    validator: jsonschema::Validator,
}

impl JsonSchemaCheck {
    /// Compiles `schema` (the policy JSON Schema); an error when it does not compile.
    pub fn new(schema: &Value) -> Result<Self, CliError> {
        jsonschema::validator_for(schema)
            .map(|validator| JsonSchemaCheck { validator })
            .map_err(|e| CliError(format!("the policy schema does not compile: {e}")))
    }
}

impl SchemaCheck for JsonSchemaCheck {
    fn check(&self, doc: &Value) -> Vec<SchemaViolation> {
        self.validator
            .iter_errors(doc)
            .map(|error| {
                let path: Vec<PathSeg> = error
                    .instance_path()
                    .iter()
                    .map(|seg| match seg {
                        LocationSegment::Property(p) => PathSeg::Key(p.into_owned()),
                        LocationSegment::Index(i) => PathSeg::Index(i),
                    })
                    .collect();
                let unexpected = match error.kind() {
                    ValidationErrorKind::AdditionalProperties { unexpected } => unexpected.clone(),
                    _ => Vec::new(),
                };
                let detail = match (error.kind(), error.instance().as_ref()) {
                    // The duration parser explains better than a regex does.
                    (ValidationErrorKind::Pattern { pattern }, Value::String(s)) if pattern == DURATION_PATTERN => s
                        .parse::<Duration>()
                        .err()
                        .map_or_else(|| error.to_string(), |e| e.to_string()),
                    // Every allowed value, not "or 3 other candidates".
                    (ValidationErrorKind::Enum { options }, v) => {
                        format!("{v} is not one of {}", one_of(options.as_array().map_or(&[][..], Vec::as_slice)))
                    }
                    // AppFlow's name rules in words, not a regex.
                    (ValidationErrorKind::Pattern { pattern }, v) if pattern == FLOW_NAME_PATTERN => format!(
                        "{v} is not an AppFlow flow name: 2 or more of letters, digits and _ ! @ # . - (no spaces), the first a letter or digit"
                    ),
                    (ValidationErrorKind::Pattern { pattern }, v) if pattern == CLASS_NAME_PATTERN => format!(
                        "{v} is not an error class name: a lower-case letter, then up to 62 lower-case letters, digits or _"
                    ),
                    (ValidationErrorKind::Type { .. }, v @ Value::Number(_)) if is_duration_field(&path) => {
                        serde_json::from_value::<Duration>(v.clone())
                            .err()
                            .map_or_else(|| error.to_string(), |e| e.to_string())
                    }
                    _ => error.to_string(),
                };
                let message = if path.is_empty() {
                    detail
                } else {
                    format!("{}: {detail}", display_path(&path))
                };
                SchemaViolation {
                    path,
                    unexpected,
                    message,
                }
            })
            .collect()
    }
}

/// `"a", "b" or "c"`.
fn one_of(options: &[Value]) -> String {
    let quoted: Vec<String> = options.iter().map(Value::to_string).collect();
    match quoted.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn is_duration_field(path: &[PathSeg]) -> bool {
    matches!(path.last(), Some(PathSeg::Key(k)) if matches!(k.as_str(), "retry_window" | "initial_delay" | "max_delay"))
}
