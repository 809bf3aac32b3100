//! The functions' log lines as CloudWatch receives them: one JSON object a
//! line, carrying the invocation's request id, at the level Lambda sets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Stdio;

use appflow_retry_testkit::lambda_api::RuntimeApi;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

/// Runs the on-failure binary for one event that it refuses before any AWS
/// call (so no service is needed) and returns its stdout lines as JSON.
async fn log_lines(extra: &[(&str, &str)]) -> Vec<Value> {
    let api = RuntimeApi::start().await.unwrap();
    let mut env = vec![
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        (
            "APPFLOW_RETRY_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:x",
        ),
        ("AWS_LAMBDA_LOG_LEVEL", ""),
        ("RUST_LOG", ""),
    ];
    env.extend_from_slice(extra);
    let mut child = api
        .function_command(Path::new(env!("CARGO_BIN_EXE_on-failure")), &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let err = api.invoke(json!({"source": "aws.s3"})).await.unwrap_err();
    assert_eq!(err.error_type, "InvalidEvent");
    drop(api);
    let mut out = String::new();
    let mut stdout = child.stdout.take().unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(20), stdout.read_to_string(&mut out))
        .await
        .expect("the function exits once the Runtime API is gone")
        .unwrap();
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

fn failure_line(lines: &[Value]) -> Option<&Value> {
    lines.iter().find(|l| l["message"] == "invocation failed")
}

#[tokio::test]
async fn every_line_of_an_invocation_names_its_request_id() {
    let lines = log_lines(&[]).await;
    let failed = failure_line(&lines).unwrap_or_else(|| panic!("no failure line in {lines:?}"));
    assert_eq!(failed["level"], "ERROR");
    assert_eq!(failed["error_type"], "InvalidEvent");
    assert_eq!(failed["span"]["name"], "Lambda runtime invoke", "{failed}");
    assert_eq!(failed["span"]["requestId"], "req-1", "{failed}");
}

#[tokio::test]
async fn the_level_lambda_sets_is_the_level_the_function_logs_at() {
    // At ERROR the failure line is still written, with its request id,
    // although the invocation span itself is an info span.
    let lines = log_lines(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR"), ("RUST_LOG", "debug")]).await;
    let logged: Vec<_> = lines.iter().filter(|l| l.get("level").is_some()).collect();
    assert!(logged.iter().all(|l| l["level"] == "ERROR"), "{logged:?}");
    let failed = failure_line(&lines).unwrap_or_else(|| panic!("no failure line in {lines:?}"));
    assert_eq!(failed["span"]["requestId"], "req-1", "{failed}");

    // Lambda's FATAL is tracing's ERROR (tracing has no fatal level): the
    // failure is still written.
    let lines = log_lines(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).await;
    assert!(failure_line(&lines).is_some(), "FATAL is error in tracing: {lines:?}");
}
