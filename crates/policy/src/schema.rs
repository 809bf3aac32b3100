//! The JSON Schema of a policy file, generated from the Rust types.
//! `policies/schema.json` is this output, committed; a test keeps it fresh.

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::Value;

use crate::model::PolicyFile;

/// The schema `$id`-less and pretty, with a trailing newline: exactly the
/// committed `policies/schema.json`.
pub fn policy_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&policy_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema as a JSON value.
pub fn policy_schema() -> Value {
    SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(not_nullable))
        .into_generator()
        .into_root_schema_for::<PolicyFile>()
        .to_value()
}

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
