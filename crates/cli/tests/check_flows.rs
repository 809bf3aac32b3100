//! `validate --check-flows` against the AppFlow emulator (ListFlows over
//! AppFlow's wire protocol, paged).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use appflow_emulator::{Emulator, Flow};

const BIN: &str = env!("CARGO_BIN_EXE_appflow-retry");

#[tokio::test(flavor = "multi_thread")]
async fn files_for_missing_flows_and_flows_without_files_are_named() {
    let emulator = Emulator::start().await.unwrap();
    // This repository's policies govern five flows; the account has two of
    // them and 120 others (two ListFlows pages).
    for name in ["salesforce-accounts", "marketo-leads"] {
        emulator.add_flow(Flow::on_demand(name));
    }
    for i in 0..120 {
        emulator.add_flow(Flow::on_demand(&format!("other-{i:03}")));
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let endpoint = emulator.endpoint();
    let run = |format: &'static str| {
        let repo = repo.clone();
        let endpoint = endpoint.clone();
        std::thread::spawn(move || {
            Command::new(BIN)
                .args([
                    "validate",
                    "--check-flows",
                    "--region",
                    "eu-west-1",
                    "--endpoint-url",
                    &endpoint,
                    "--format",
                    format,
                ])
                .current_dir(&repo)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .output()
                .unwrap()
        })
        .join()
        .unwrap()
    };
    let out = run("text");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for flow in [
        "nightly-orders-sync",
        "sap-odata-sales-orders",
        "zendesk-tickets-backfill",
    ] {
        assert!(
            err.contains(&format!("flow {flow} is not among the account's 122 flows")),
            "{flow}: {err}"
        );
    }
    assert!(!err.contains("flow salesforce-accounts is not"), "{err}");
    assert!(
        err.contains(
            "120 of the account's flows have no file of their own (the default governs them): other-000, other-001"
        ),
        "{err}"
    );
    assert!(err.contains(" and 100 more"), "{err}");

    let out = run("json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["flows"]["flows_listed"], 122);
    assert_eq!(v["flows"]["files_for_missing_flows"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["flows"]["flows_without_a_file"].as_array().map(Vec::len), Some(120));
}
