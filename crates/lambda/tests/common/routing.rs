//! Routing AppFlow events through an EventBridge rule in moto: the rule's
//! pattern decides, as in AWS. (moto's TestEventPattern is a stub, so a real
//! rule with an SQS target does the matching.) Used by event_pattern.rs with
//! the patterns the Terraform tests prove the module renders, and by
//! terraform_e2e.rs with the pattern `terraform apply` deployed.

use std::time::Duration;

use appflow_retry_aws::sdk_config_for_endpoint;
use appflow_retry_testkit::moto::Moto;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use serde_json::{Value, json};

pub const FAILED: &str = include_str!("../../../cli/tests/fixtures/end-flow-run-report.failed.json");
pub const SUCCEEDED: &str = include_str!("../../../cli/tests/fixtures/end-flow-run-report.succeeded.json");
pub const DEACTIVATED: &str = include_str!("../../../cli/tests/fixtures/scheduled-flow-deactivated.json");

/// Sends each event through a rule with `pattern`; returns the execution ids
/// that matched (a deactivation, which has none: `deactivated:<flow>`).
pub async fn routed(pattern: &str, events: &[Value]) -> Vec<String> {
    let moto = Moto::start_async().await.expect("moto (run `make venv`)");
    let config = sdk_config_for_endpoint(moto.endpoint()).await;
    let events_client = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url = sqs
        .create_queue()
        .queue_name("matched")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = "arn:aws:sqs:us-east-1:123456789012:matched";
    events_client
        .put_rule()
        .name("failed-runs")
        .event_pattern(pattern)
        .send()
        .await
        .unwrap();
    events_client
        .put_targets()
        .rule("failed-runs")
        .targets(Target::builder().id("queue").arn(queue_arn).build().unwrap())
        .send()
        .await
        .unwrap();
    for e in events {
        let entry = PutEventsRequestEntry::builder()
            .source(e["source"].as_str().unwrap())
            .detail_type(e["detail-type"].as_str().unwrap())
            .detail(e["detail"].to_string())
            .build();
        events_client.put_events().entries(entry).send().await.unwrap();
    }
    let mut matched = Vec::new();
    for _ in 0..3 {
        let got = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        for m in got.messages.unwrap_or_default() {
            let body: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            let label = match body["detail"]["execution-id"].as_str() {
                Some(id) => id.to_owned(),
                None => format!("deactivated:{}", body["detail"]["flow-name"].as_str().unwrap()),
            };
            matched.push(label);
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    matched.sort();
    matched
}

pub fn with(base: &str, flow: &str, id: &str) -> Value {
    let mut e: Value = serde_json::from_str(base).unwrap();
    e["detail"]["flow-name"] = json!(flow);
    e["detail"]["execution-id"] = json!(id);
    e
}

/// A deactivation event of `kind` ("Scheduled" or "Event") for `flow`.
pub fn deactivated(kind: &str, flow: &str) -> Value {
    let mut e: Value = serde_json::from_str(DEACTIVATED).unwrap();
    e["detail-type"] = json!(format!("AppFlow {kind} Flow Deactivated"));
    e["detail"]["flow-name"] = json!(flow);
    e
}
