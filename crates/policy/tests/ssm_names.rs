#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SSM parameter names Terraform computes must be the ones the service
//! reads. `terraform/modules/policies` encodes flow names in HCL (nested
//! `replace()` calls) and its `terraform test` compares the result with
//! `expected-ssm-names.json`; this test checks the same file against
//! [`naming::flow_parameter`], and that the file covers exactly the flows of
//! the fixture the Terraform test reads.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use appflow_retry_policy::naming::{self, DEFAULT_POLICY_PREFIX};

fn tricky_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../terraform/modules/policies/tests/fixtures/tricky")
}

/// flow name → full parameter name under `/appflow-retry`.
fn expected() -> serde_json::Map<String, serde_json::Value> {
    let path = tricky_dir().join("expected-ssm-names.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text).unwrap() {
        serde_json::Value::Object(map) => map,
        other => panic!("{}: not a JSON object: {other}", path.display()),
    }
}

#[test]
fn terraform_names_are_the_rust_names() {
    let expected = expected();
    assert!(!expected.is_empty());
    for (flow, name) in &expected {
        let name = name.as_str().unwrap_or_else(|| panic!("{flow}: not a string: {name}"));
        assert_eq!(naming::flow_parameter("/appflow-retry", flow), name, "flow {flow:?}");
        // The prefix the module defaults to is the service's default.
        assert_eq!(
            naming::flow_parameter(DEFAULT_POLICY_PREFIX, flow),
            name,
            "flow {flow:?}"
        );
        // And the name decodes back to the flow.
        let segment = name.strip_prefix("/appflow-retry/flows/").unwrap();
        assert_eq!(naming::decode_flow_name(segment).as_deref(), Some(flow.as_str()));
    }
    // The encoding is injective: no two flows share a parameter.
    let names: BTreeSet<_> = expected.values().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(names.len(), expected.len());
}

#[test]
fn expected_names_cover_exactly_the_fixture_flows() {
    let flows_dir = tricky_dir().join("flows");
    let mut flows = BTreeSet::new();
    for entry in fs::read_dir(&flows_dir).unwrap_or_else(|e| panic!("{}: {e}", flows_dir.display())) {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{}: no schema comment",
            path.display()
        );
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let flow = doc["flow"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: flow is not a string", path.display()));
        assert!(flows.insert(flow.to_owned()), "{}: flow {flow:?} twice", path.display());
    }
    let keys: BTreeSet<String> = expected().keys().cloned().collect();
    assert_eq!(keys, flows);
    // The names the fixture exists to cover.
    let longest = format!("a{}", "b".repeat(255));
    for flow in [
        "salesforce-accounts",
        "a!b",
        "a_21b",
        "a__b",
        "a_b",
        "a#b@c!d",
        "x.y-z",
        "Z9_!@#.-z",
        longest.as_str(),
    ] {
        assert!(flows.contains(flow), "the fixture lacks flow {flow:?}");
    }
}
