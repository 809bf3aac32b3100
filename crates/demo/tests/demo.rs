//! The demo's checks can fail: a scenario whose expectations are wrong is reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use appflow_retry_demo::scenario::Scenario;
use appflow_retry_demo::sim::{Style, play};

fn scenario(expect_first: &str) -> Scenario {
    serde_yaml::from_str(&format!(
        "start: 2026-11-29T09:00:00Z\n\
         flows:\n\
         - {{name: salesforce-accounts, failure: 'REQUEST_LIMIT_EXCEEDED', restarts: [succeed], expect: [{expect_first}]}}\n\
         - {{name: marketo-leads, failure: 'Session expired', expect: [skip]}}\n"
    ))
    .unwrap()
}

#[tokio::test]
async fn matching_and_mismatching_expectations() {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut out = Vec::new();
    let (reports, ok) = play(&scenario("retry"), &policies, 0.0, Style { color: false }, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(ok, "{text}");
    assert_eq!(reports[0].last_run, "Successful");
    assert_eq!(reports[0].restarts, ["restarted"]);
    assert!(!text.contains('\x1b'), "no colour when asked for none");

    let mut out = Vec::new();
    let (_, ok) = play(&scenario("give_up"), &policies, 0.0, Style { color: false }, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!ok);
    assert!(text.contains("MISMATCH: expected give_up"), "{text}");
}

#[tokio::test]
async fn a_deactivated_scheduled_flow_is_reactivated_and_runs_again() {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let scenario: Scenario = serde_yaml::from_str(
        "start: 2026-11-29T09:00:00Z\n\
         flows:\n\
         - {name: nightly-orders-sync, trigger: scheduled, deactivate_after: 2, failure: 'Read timed out',\n\
            scheduled_runs: [fail, succeed], expect: [skip, skip, reactivate]}\n",
    )
    .unwrap();
    let mut out = Vec::new();
    let (reports, ok) = play(&scenario, &policies, 0.0, Style { color: false }, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(ok, "{text}");
    assert_eq!(reports[0].restarts, ["reactivated"], "{text}");
    assert_eq!(reports[0].last_run, "Successful", "{text}");
    assert_eq!(
        reports[0].notifications, 2,
        "the re-activation and its outcome only: {text}"
    );
    assert!(
        text.contains("AppFlow deactivates the flow (AppFlow Scheduled Flow Deactivated)"),
        "{text}"
    );
}

/// The demo binary on a short scenario, its stdout piped, with `env` set.
fn demo_output(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        "start: 2026-11-29T09:00:00Z\nflows:\n- {name: marketo-leads, failure: 'Session expired', expect: [skip]}\n",
    )
    .unwrap();
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_appflow-retry-demo"));
    command
        .args([
            "--scenario",
            path.to_str().unwrap(),
            "--policies",
            policies.to_str().unwrap(),
            "--time-scale",
            "0",
        ])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn colours_follow_the_terminal_conventions() {
    // Piped: plain, unless CLICOLOR_FORCE asks; NO_COLOR wins over it.
    assert!(!demo_output(&[]).contains('\x1b'));
    assert!(demo_output(&[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    assert!(!demo_output(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\x1b'));
}
