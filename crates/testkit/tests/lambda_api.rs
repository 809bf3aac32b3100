//! Tests of the local Lambda Runtime API against a fake function: a task that
//! speaks the Runtime API over plain HTTP, as a `lambda_runtime` binary does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use appflow_retry_testkit::lambda_api::{FUNCTION_ARN, InvocationError, RuntimeApi, TRACE_ID};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// Upper bound for every test step, so a bug hangs no test forever.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// What the fake function answers to one invocation.
enum Reply {
    Response(Value),
    Error { error_type: String, error_message: String },
}

/// One invocation as the fake function saw it.
#[derive(Debug)]
struct Seen {
    request_id: String,
    deadline_ms: u128,
    function_arn: String,
    trace_id: String,
    payload: Value,
}

/// A plain HTTP client, never going through a proxy.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .build()
        .into()
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs a fake function that handles `count` invocations, one at a time,
/// answering each with `reply(payload)`. Returns what it saw.
fn fake_function(address: String, count: usize, reply: fn(&Value) -> Reply) -> JoinHandle<Vec<Seen>> {
    tokio::task::spawn_blocking(move || {
        let agent = agent();
        let base = format!("http://{address}/2018-06-01/runtime");
        let mut seen = Vec::new();
        for _ in 0..count {
            let mut next = agent.get(format!("{base}/invocation/next")).call().unwrap();
            assert_eq!(next.status(), 200);
            let invocation = Seen {
                request_id: header(&next, "Lambda-Runtime-Aws-Request-Id"),
                deadline_ms: header(&next, "Lambda-Runtime-Deadline-Ms").parse().unwrap(),
                function_arn: header(&next, "Lambda-Runtime-Invoked-Function-Arn"),
                trace_id: header(&next, "Lambda-Runtime-Trace-Id"),
                payload: next.body_mut().read_json().unwrap(),
            };
            let id = &invocation.request_id;
            let answer = match reply(&invocation.payload) {
                Reply::Response(value) => agent.post(format!("{base}/invocation/{id}/response")).send_json(value),
                Reply::Error {
                    error_type,
                    error_message,
                } => agent
                    .post(format!("{base}/invocation/{id}/error"))
                    .send_json(json!({"errorType": error_type, "errorMessage": error_message})),
            }
            .unwrap();
            assert_eq!(answer.status(), 202);
            seen.push(invocation);
        }
        seen
    })
}

async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP_TIMEOUT, future)
        .await
        .expect("test step timed out")
}

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

#[tokio::test]
async fn address_is_on_loopback() {
    let api = RuntimeApi::start().await.unwrap();
    let address = api.address();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let port: u16 = address["127.0.0.1:".len()..].parse().unwrap();
    assert_ne!(port, 0);
}

#[tokio::test]
async fn invoke_returns_the_function_response() {
    let api = RuntimeApi::start().await.unwrap();
    let function = fake_function(api.address(), 1, |payload| {
        Reply::Response(json!({"echo": payload, "ok": true}))
    });

    let before = now_ms();
    let output = within(api.invoke(json!({"flow": "orders", "attempt": 1}))).await;
    assert_eq!(
        output,
        Ok(json!({"echo": {"flow": "orders", "attempt": 1}, "ok": true}))
    );

    let seen = within(function).await.unwrap();
    assert_eq!(seen.len(), 1);
    let invocation = &seen[0];
    assert_eq!(invocation.request_id, "req-1");
    assert_eq!(invocation.function_arn, FUNCTION_ARN);
    assert_eq!(invocation.trace_id, TRACE_ID);
    assert_eq!(invocation.payload, json!({"flow": "orders", "attempt": 1}));
    // About five minutes from now.
    assert!(invocation.deadline_ms >= before + 299_000, "{invocation:?}");
    assert!(invocation.deadline_ms <= now_ms() + 300_000, "{invocation:?}");
}

#[tokio::test]
async fn invoke_returns_the_function_error() {
    let api = RuntimeApi::start().await.unwrap();
    let function = fake_function(api.address(), 1, |_| Reply::Error {
        error_type: "AppFlowThrottled".to_owned(),
        error_message: "rate exceeded".to_owned(),
    });

    let error = within(api.invoke(json!({}))).await.unwrap_err();
    assert_eq!(
        error,
        InvocationError {
            error_type: "AppFlowThrottled".to_owned(),
            error_message: "rate exceeded".to_owned(),
        }
    );
    assert_eq!(error.to_string(), "AppFlowThrottled: rate exceeded");
    within(function).await.unwrap();
}

#[tokio::test]
async fn two_invocations_are_answered_in_order() {
    let api = RuntimeApi::start().await.unwrap();
    // Both invocations are queued before the function polls for the first.
    let function = fake_function(api.address(), 2, |payload| {
        Reply::Response(json!({"n": payload["n"].as_i64().unwrap() * 10}))
    });

    let (first, second) =
        within(async { tokio::join!(api.invoke(json!({"n": 1})), api.invoke(json!({"n": 2}))) }).await;
    assert_eq!(first, Ok(json!({"n": 10})));
    assert_eq!(second, Ok(json!({"n": 20})));

    let seen = within(function).await.unwrap();
    let order: Vec<(&str, &Value)> = seen.iter().map(|s| (s.request_id.as_str(), &s.payload)).collect();
    assert_eq!(order, [("req-1", &json!({"n": 1})), ("req-2", &json!({"n": 2}))]);

    // The next invocation gets the next id.
    let function = fake_function(api.address(), 1, |payload| Reply::Response(payload.clone()));
    assert_eq!(within(api.invoke(json!("third"))).await, Ok(json!("third")));
    assert_eq!(within(function).await.unwrap()[0].request_id, "req-3");
}

#[tokio::test]
async fn init_error_fails_pending_and_future_invocations() {
    let api = RuntimeApi::start().await.unwrap();
    let address = api.address();

    let (pending, status) = within(async {
        tokio::join!(
            api.invoke(json!({"never": "delivered"})),
            // Polled after the invocation is queued: `join!` polls in order.
            async move {
                tokio::task::spawn_blocking(move || {
                    agent()
                        .post(format!("http://{address}/2018-06-01/runtime/init/error"))
                        .send_json(json!({"errorType": "Runtime.InitError", "errorMessage": "missing config"}))
                        .unwrap()
                        .status()
                })
                .await
            }
        )
    })
    .await;
    assert_eq!(status.unwrap(), 202);
    let expected = InvocationError::new("Runtime.InitError", "missing config");
    assert_eq!(pending, Err(expected.clone()));
    assert_eq!(within(api.invoke(json!({}))).await, Err(expected));
}

#[tokio::test]
async fn unknown_request_id_is_rejected() {
    let api = RuntimeApi::start().await.unwrap();
    let address = api.address();
    let status = tokio::task::spawn_blocking(move || {
        agent()
            .post(format!(
                "http://{address}/2018-06-01/runtime/invocation/req-42/response"
            ))
            .send_json(json!({}))
            .unwrap()
            .status()
    })
    .await
    .unwrap();
    assert_eq!(status, 400);
}

#[tokio::test]
async fn dropping_the_api_ends_open_long_polls() {
    let api = RuntimeApi::start().await.unwrap();
    let address = api.address();
    let poll = tokio::task::spawn_blocking(move || {
        agent()
            .get(format!("http://{address}/2018-06-01/runtime/invocation/next"))
            .call()
            .map(|response| response.status())
    });
    // Let the long-poll reach the server before stopping it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(api);
    let status = within(poll).await.unwrap().unwrap();
    assert_eq!(status, 500);
}

#[cfg(unix)]
#[tokio::test]
async fn function_command_sets_the_lambda_environment() {
    let api = RuntimeApi::start().await.unwrap();
    let output = api
        .function_command(
            std::path::Path::new("/bin/sh"),
            &[("RUST_LOG", "debug"), ("AWS_REGION", "eu-west-1")],
        )
        .arg("-c")
        .arg(
            "echo \"$AWS_LAMBDA_RUNTIME_API|$AWS_LAMBDA_FUNCTION_NAME|$AWS_LAMBDA_FUNCTION_MEMORY_SIZE|\
             $AWS_LAMBDA_FUNCTION_VERSION|$AWS_REGION|$AWS_DEFAULT_REGION|$RUST_LOG\"",
        )
        .stdout(std::process::Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("{}|local|128|$LATEST|eu-west-1|us-east-1|debug", api.address())
    );
}

#[tokio::test]
async fn spawn_function_reports_a_missing_binary() {
    let api = RuntimeApi::start().await.unwrap();
    let error = api
        .spawn_function(std::path::Path::new("/nonexistent/lambda"), &[])
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
}

#[cfg(unix)]
#[tokio::test]
async fn spawn_function_starts_the_binary() {
    let api = RuntimeApi::start().await.unwrap();
    let mut child = api.spawn_function(std::path::Path::new("/bin/true"), &[]).unwrap();
    assert!(within(child.wait()).await.unwrap().success());
}
