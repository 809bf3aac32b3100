//! `appflow-retry redrive`, the built binary, against moto: both queues with
//! a message of each shape and a garbage one, Lambda's asynchronous Invoke
//! accepted by moto without Docker. moto keeps no record of what an
//! invocation carried, so the count of invocations is read back from its
//! queue of canned results (each invocation takes the next one); the exact
//! payloads are asserted on in-memory ports in the runtime crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use std::path::Path;
use std::process::{Command, Output, Stdio};

use appflow_retry_testkit::moto::Moto;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_appflow-retry");
const FUNCTION: &str = "appflow-retry-on-failure";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../runtime/tests/fixtures")
            .join(name),
    )
    .unwrap()
}

struct World {
    moto: Moto,
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
    dlq: String,
    errors: String,
}

/// The smallest zip there is (an end-of-central-directory record): moto
/// stores the code and never runs it.
fn empty_zip() -> Vec<u8> {
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    zip
}

impl World {
    async fn new() -> World {
        let moto = Moto::start_async().await.expect("moto starts (run `make venv`)");
        let config = appflow_retry_aws::sdk_config_for_endpoint(moto.endpoint()).await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let lambda = aws_sdk_lambda::Client::new(&config);
        let mut urls = Vec::new();
        for name in ["appflow-retry-events-dlq", "appflow-retry-on-failure-errors"] {
            urls.push(
                sqs.create_queue()
                    .queue_name(name)
                    .send()
                    .await
                    .unwrap()
                    .queue_url
                    .unwrap(),
            );
        }
        let role = moto.create_lambda_role("appflow-retry-on-failure").unwrap();
        lambda
            .create_function()
            .function_name(FUNCTION)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip()))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let errors = urls.pop().unwrap();
        let dlq = urls.pop().unwrap();
        World {
            moto,
            sqs,
            lambda,
            dlq,
            errors,
        }
    }

    async fn put(&self, queue: &str, body: &str, attributes: &[(&str, &str)]) {
        let mut send = self.sqs.send_message().queue_url(queue).message_body(body);
        for (k, v) in attributes {
            send = send.message_attributes(
                *k,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(*v)
                    .build()
                    .unwrap(),
            );
        }
        send.send().await.unwrap();
    }

    /// One message of each shape and one of neither.
    async fn fill(&self) {
        // EventBridge's dead letters carry why in attributes.
        self.put(
            &self.dlq,
            &fixture("dead-letter-queue.message.json"),
            &[
                ("ERROR_CODE", "SDK_CLIENT_ERROR"),
                ("ERROR_MESSAGE", "Unable to invoke Lambda function: Rate Exceeded."),
                (
                    "RULE_ARN",
                    "arn:aws:events:us-east-1:123456789012:rule/appflow-retry-failed-runs",
                ),
                (
                    "TARGET_ARN",
                    "arn:aws:lambda:us-east-1:123456789012:function:appflow-retry-on-failure",
                ),
            ],
        )
        .await;
        self.put(&self.dlq, "this is not an event", &[]).await;
        self.put(&self.errors, &fixture("errors-queue.message.json"), &[]).await;
    }

    /// Messages in `queue`, visible or not.
    async fn count(&self, queue: &str) -> usize {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        let n = |a: QueueAttributeName| attrs[&a].parse::<usize>().unwrap();
        n(QueueAttributeName::ApproximateNumberOfMessages)
            + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }

    /// Messages visible now (a redrive releases what it leaves in place).
    async fn visible(&self, queue: &str) -> usize {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        attrs[&QueueAttributeName::ApproximateNumberOfMessages].parse().unwrap()
    }

    /// Queues numbered canned results for moto's Lambda: each invocation
    /// takes the next, so [`World::invocations`] can count them afterwards.
    fn arm_counter(&self) {
        let markers: Vec<Value> = (0..20).map(|i| json!({ "invocation": i })).collect();
        self.moto.queue_lambda_results(&markers).unwrap();
    }

    /// How many invocations took a canned result since [`World::arm_counter`].
    async fn invocations(&self) -> u64 {
        let out = self.lambda.invoke().function_name(FUNCTION).send().await.unwrap();
        let payload: Value = serde_json::from_slice(out.payload.unwrap().as_ref()).unwrap();
        payload["invocation"].as_u64().unwrap()
    }

    async fn run(&self, args: &[&str]) -> Output {
        let endpoint = self.moto.endpoint().to_owned();
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .arg("redrive")
                .args(&args)
                .args(["--region", "us-east-1", "--endpoint-url", &endpoint])
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env_remove("AWS_PROFILE")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }

    fn flags(&self) -> Vec<String> {
        vec![
            "--dead-letter-queue-url".into(),
            self.dlq.clone(),
            "--errors-queue-url".into(),
            self.errors.clone(),
            "--function-name".into(),
            FUNCTION.into(),
        ]
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn redrive_replays_both_shapes_deletes_them_and_leaves_the_garbage() {
    let w = World::new().await;
    w.fill().await;
    w.arm_counter();
    let flags = w.flags();

    // Dry run: says what it would do, invokes and deletes nothing, and
    // leaves every message visible for the real run.
    let mut args = refs(&flags);
    args.push("--dry-run");
    let dry = w.run(&args).await;
    assert_eq!(
        dry.status.code(),
        Some(1),
        "the garbage message cannot be handled\n{}",
        text(&dry)
    );
    let lines = stdout_lines(&dry);
    assert_eq!(lines.len(), 6, "{}", text(&dry));
    assert!(lines[0].starts_with("dead-letter-queue message "), "{}", text(&dry));
    assert!(
        lines[0].ends_with(
            " flow orders-export failed run 1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f (parked: SDK_CLIENT_ERROR: Unable to invoke Lambda \
             function: Rate Exceeded.): would redrive (dry run: nothing invoked, nothing deleted)"
        ),
        "{}",
        text(&dry)
    );
    assert!(
        lines[1].ends_with(": left in the queue: message field `(body)`: not JSON: expected ident at line 1 column 2"),
        "{}",
        text(&dry)
    );
    assert!(lines[2].starts_with("errors-queue message "), "{}", text(&dry));
    assert!(
        lines[2].contains(
            " flow salesforce-accounts failed run 9aa00099-9943-449a-9c7a-488dbc801242 (parked: PolicyUnavailable: "
        ),
        "{}",
        text(&dry)
    );
    assert_eq!(
        lines[3..],
        [
            "dead-letter-queue: left 2 messages: 2 not redriven (listed above); read 2 of about 2 at the start",
            "errors-queue: left 1 message: 1 not redriven (listed above); read 1 of about 1 at the start",
            "3 messages: 2 would be redriven (dry run), 1 could not be handled and stay in their queue"
        ]
    );
    assert_eq!((w.visible(&w.dlq).await, w.visible(&w.errors).await), (2, 1));

    // The real run: both events invoked, their messages deleted, the garbage kept.
    let real = w.run(&refs(&flags)).await;
    assert_eq!(real.status.code(), Some(1), "{}", text(&real));
    let lines = stdout_lines(&real);
    assert_eq!(lines.len(), 6, "{}", text(&real));
    assert!(
        lines[0].ends_with(": redriven: on-failure accepted the event, message deleted"),
        "{}",
        text(&real)
    );
    assert!(
        lines[2].ends_with(": redriven: on-failure accepted the event, message deleted"),
        "{}",
        text(&real)
    );
    assert_eq!(
        lines[3..],
        [
            "dead-letter-queue: left 1 message: 1 not redriven (listed above); read 2 of about 2 at the start",
            "errors-queue: left 0 messages; read 1 of about 1 at the start",
            "3 messages: 2 redriven, 1 could not be handled and stay in their queue"
        ]
    );
    assert_eq!(
        w.invocations().await,
        2,
        "one asynchronous invocation per event, none for the dry run"
    );
    assert_eq!((w.count(&w.dlq).await, w.count(&w.errors).await), (1, 0));
    // What is left is the garbage, untouched and visible again.
    let left = w
        .sqs
        .receive_message()
        .queue_url(&w.dlq)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].body.as_deref(), Some("this is not an event"));
}

#[tokio::test]
async fn max_bounds_the_count_and_an_empty_queue_is_success() {
    let w = World::new().await;
    for _ in 0..3 {
        w.put(&w.dlq, &fixture("dead-letter-queue.message.json"), &[]).await;
    }
    w.arm_counter();
    let flags = w.flags();
    let mut args = refs(&flags);
    args.extend(["--max", "2"]);
    let out = w.run(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        stdout_lines(&out).last().map(String::as_str),
        Some("2 messages: 2 redriven, 0 could not be handled and stay in their queue")
    );
    assert_eq!(w.invocations().await, 2);
    assert_eq!(w.count(&w.dlq).await, 1);

    w.arm_counter();
    let rest = w.run(&refs(&flags)).await;
    assert_eq!(rest.status.code(), Some(0), "{}", text(&rest));
    assert_eq!(w.count(&w.dlq).await, 0);
    let again = w.run(&refs(&flags)).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(
        stdout_lines(&again),
        [
            "dead-letter-queue: left 0 messages; read 0 of about 0 at the start",
            "errors-queue: left 0 messages; read 0 of about 0 at the start",
            "0 messages: 0 redriven, 0 could not be handled and stay in their queue"
        ]
    );
}

#[tokio::test]
async fn a_parked_success_report_is_redriven_from_either_queue() {
    // A success report (the `recovered` path) parked in either queue, in
    // either shape: accepted by on-failure, so redriven and deleted.
    let w = World::new().await;
    let success = fixture("dead-letter-queue.success.message.json");
    let mut record: Value = serde_json::from_str(&fixture("errors-queue.message.json")).unwrap();
    record["requestPayload"] = serde_json::from_str(&success).unwrap();
    w.put(&w.dlq, &success, &[]).await;
    w.put(&w.errors, &record.to_string(), &[]).await;
    w.arm_counter();

    let out = w.run(&refs(&w.flags())).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 5, "{}", text(&out));
    for (line, queue) in lines[..2].iter().zip(["dead-letter-queue", "errors-queue"]) {
        assert!(line.starts_with(&format!("{queue} message ")), "{}", text(&out));
        assert!(
            line.contains(" flow orders-export successful run 2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"),
            "{}",
            text(&out)
        );
        assert!(
            line.ends_with(": redriven: on-failure accepted the event, message deleted"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(
        lines[4],
        "2 messages: 2 redriven, 0 could not be handled and stay in their queue"
    );
    assert_eq!(w.invocations().await, 2);
    assert_eq!((w.count(&w.dlq).await, w.count(&w.errors).await), (0, 0));
}

#[tokio::test]
async fn the_terraform_outputs_name_the_queues_and_the_function() {
    // As `make test` skips the Terraform end to end without Terraform.
    if Command::new("terraform").arg("version").output().is_err() {
        eprintln!("SKIPPED: terraform is not on PATH");
        return;
    }
    let w = World::new().await;
    w.fill().await;
    // A root module with just the three outputs, applied for real (no provider needed).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            "output \"dead_letter_queue_url\" {{ value = \"{}\" }}\n\
             output \"on_failure_errors_queue_url\" {{ value = \"{}\" }}\n\
             output \"on_failure_function_name\" {{ value = \"{FUNCTION}\" }}\n",
            w.dlq, w.errors
        ),
    )
    .unwrap();
    let path = dir.path().to_owned();
    let applied = tokio::task::spawn_blocking(move || {
        Command::new("terraform")
            .args(["apply", "-auto-approve", "-input=false", "-no-color"])
            .current_dir(&path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(applied.status.success(), "{}", text(&applied));

    let dir_arg = dir.path().to_str().unwrap().to_owned();
    let out = w.run(&["--terraform-dir", &dir_arg, "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        stdout_lines(&out).last().map(String::as_str),
        Some("3 messages: 2 would be redriven (dry run), 1 could not be handled and stay in their queue")
    );

    // Flags and --terraform-dir do not mix; a missing output is named.
    let mixed = w.run(&["--terraform-dir", &dir_arg, "--function-name", "x"]).await;
    assert_eq!(mixed.status.code(), Some(2), "{}", text(&mixed));
    std::fs::write(
        dir.path().join("main.tf"),
        "output \"dead_letter_queue_url\" { value = \"u\" }\n",
    )
    .unwrap();
    let path = dir.path().to_owned();
    let reapplied = tokio::task::spawn_blocking(move || {
        Command::new("terraform")
            .args(["apply", "-auto-approve", "-input=false", "-no-color"])
            .current_dir(&path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(reapplied.status.success(), "{}", text(&reapplied));
    let missing = w.run(&["--terraform-dir", &dir_arg]).await;
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("terraform output `on_failure_errors_queue_url` is missing"),
        "{}",
        text(&missing)
    );
    assert_eq!(
        w.count(&w.dlq).await + w.count(&w.errors).await,
        3,
        "nothing was deleted"
    );
}
