//! The JSON Schema of a policy file, generated from the Rust types.
//! `policies/schema.json` is this output, committed; a test keeps it fresh.

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::Value;

use crate::model::{Policy, PolicyFile};

/// The schema `$id`-less and pretty, with a trailing newline: exactly the
/// committed `policies/schema.json`.
pub fn policy_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&policy_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema as a JSON value.
pub fn policy_schema() -> Value {
    let mut schema = SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(not_nullable))
        .into_generator()
        .into_root_schema_for::<PolicyFile>()
        .to_value();
    for_editors(&mut schema);
    schema
}

/// What editors show beside the rules: an `$id`, each top-level field's
/// built-in default (what applies when neither the file nor the default
/// file sets it), and pattern errors in words (`patternErrorMessage`, read by
/// the YAML language server) instead of a regex.
fn for_editors(schema: &mut Value) {
    let Some(root) = schema.as_object_mut() else { return };
    root.insert("$id".into(), Value::String(SCHEMA_ID.into()));
    if let (Ok(Value::Object(defaults)), Some(Value::Object(properties))) =
        (serde_json::to_value(Policy::default()), root.get_mut("properties"))
    {
        for (key, value) in defaults {
            if let Some(Value::Object(property)) = properties.get_mut(&key) {
                property.insert("default".into(), value);
            }
        }
    }
    let words = [
        (
            "Duration",
            "a duration: whole d, h, m, s in that order, e.g. 90s, 2m, 1h30m, 2d",
        ),
        (
            "ClassName",
            "an error class name: a lower-case letter, then up to 62 lower-case letters, digits or _",
        ),
    ];
    if let Some(Value::Object(defs)) = root.get_mut("$defs") {
        for (def, message) in words {
            if let Some(Value::Object(d)) = defs.get_mut(def) {
                d.insert("patternErrorMessage".into(), Value::String(message.into()));
            }
        }
    }
    if let Some(Value::Object(flow)) = root.get_mut("properties").and_then(|p| p.get_mut("flow")) {
        flow.insert(
            "patternErrorMessage".into(),
            Value::String(
                "an AppFlow flow name: 2 or more of letters, digits and _ ! @ # . - (no spaces), the first a letter or digit"
                    .into(),
            ),
        );
    }
}

/// The schema's `$id`: a name, not a download location (the schema ships in
/// each repository as `policies/schema.json`).
pub const SCHEMA_ID: &str = "urn:appflow-retry:policy-file";

/// Every field of a policy file is optional, but none is nullable: a key
/// written with no value is a mistake the schema reports (serde alone would
/// read it as "not set").
fn not_nullable(schema: &mut Schema) {
    let Some(obj) = schema.as_object_mut() else { return };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
    if let Some(Value::Array(any)) = obj.get("anyOf")
        && any.len() == 2
        && any.iter().any(is_null)
    {
        let keep = any.iter().find(|v| !is_null(v)).cloned();
        obj.remove("anyOf");
        if let Some(Value::Object(inner)) = keep {
            for (k, v) in inner {
                obj.entry(k).or_insert(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_field_is_nullable() {
        let text = policy_schema_json();
        assert!(!text.contains("\"null\""), "{text}");
        let schema = policy_schema();
        assert_eq!(schema["properties"]["retry_window"]["$ref"], "#/$defs/Duration");
        assert_eq!(schema["properties"]["max_retries"]["type"], "integer");
        assert_eq!(schema["additionalProperties"], false);
    }
}

#[cfg(test)]
mod editor_tests {
    use super::*;

    /// Every property of every object in the schema, with its path.
    fn properties(schema: &Value) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let mut objects: Vec<(String, &Value)> = vec![("".into(), schema)];
        if let Some(Value::Object(defs)) = schema.get("$defs") {
            objects.extend(defs.iter().map(|(k, v)| (format!("$defs.{k}"), v)));
        }
        for (path, object) in objects {
            if let Some(Value::Object(props)) = object.get("properties") {
                out.extend(props.iter().map(|(k, v)| (format!("{path}.{k}"), v.clone())));
            }
        }
        out
    }

    #[test]
    fn every_field_is_described_for_editors() {
        let schema = policy_schema();
        assert_eq!(schema["$id"], SCHEMA_ID);
        for (path, property) in properties(&schema) {
            let described = property.get("description").is_some()
                || property
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .is_some_and(|def| schema["$defs"][def].get("description").is_some());
            assert!(described, "{path} has no description");
        }
        for def in ["Duration", "ClassName"] {
            assert!(schema["$defs"][def]["patternErrorMessage"].is_string(), "{def}");
        }
        assert!(schema["properties"]["flow"]["patternErrorMessage"].is_string());
    }

    #[test]
    fn the_defaults_shown_are_the_built_in_policy() {
        let schema = policy_schema();
        assert_eq!(schema["properties"]["max_retries"]["default"], 3);
        assert_eq!(schema["properties"]["retry_window"]["default"], "6h");
        assert_eq!(schema["properties"]["backoff"]["default"]["initial_delay"], "2m");
        assert_eq!(
            schema["properties"]["skip_errors"]["default"],
            serde_json::json!(["auth", "permission", "config"])
        );
        assert!(
            schema["properties"]["flow"].get("default").is_none(),
            "a flow has no default"
        );
    }
}
