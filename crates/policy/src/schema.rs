//! The JSON Schema of a policy file, generated from the Rust types.
//! `policies/schema.json` is this output, committed; a test keeps it fresh.

use schemars::generate::SchemaSettings;

use crate::model::PolicyFile;

/// The schema as pretty JSON text with a trailing newline, exactly as committed.
pub fn policy_schema_json() -> String {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<PolicyFile>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema as a JSON value.
pub fn policy_schema() -> serde_json::Value {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<PolicyFile>();
    schema.to_value()
}
