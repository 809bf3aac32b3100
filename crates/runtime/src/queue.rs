//! An SQS queue read through a Lambda event source mapping: the batch Lambda
//! hands the function, and the reply that keeps the messages not handled
//! (`ReportBatchItemFailures`). Two queues use it: the intake queue in front
//! of on-failure (docs/design.md §5.11) and the restart queue in front of
//! the restart function (§5.12).

use serde::Serialize;
use serde_json::Value;

use appflow_retry_policy::EventError;

/// One message of the batch: its id (to report it failed) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMessage {
    /// SQS's `messageId`.
    pub message_id: String,
    /// The message body.
    pub body: String,
}

/// The reply to the event source mapping: the messages to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchReply {
    /// Lambda's `batchItemFailures`.
    #[serde(rename = "batchItemFailures")]
    pub failures: Vec<ItemFailure>,
    /// How many messages reached the restart (the restart queue, docs/design.md
    /// §5.12): only those cost the pace. Not part of the reply.
    #[serde(skip)]
    pub restarts: usize,
}

/// One message to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// The message's `messageId`.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The messages of an SQS batch, or None when `event` is not one (an
/// event the function is invoked with directly: redrive invokes on-failure
/// with an EventBridge event, a state machine started before the restart
/// queue existed invokes restart with its input). A batch whose envelope is broken is an error naming the field:
/// without every message id, no message can be reported failed, so the
/// whole batch must come back.
pub fn sqs_batch(event: &Value) -> Option<Result<Vec<BatchMessage>, EventError>> {
    let records = event.as_object()?.get("Records")?;
    if event.get("detail-type").is_some() {
        return None;
    }
    let broken = |field: String, problem: &str| EventError {
        field,
        problem: problem.to_owned(),
    };
    let Some(records) = records.as_array() else {
        return Some(Err(broken("Records".into(), "is not a list")));
    };
    let mut messages = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let field = |name: &str| format!("Records[{i}].{name}");
        let id = match r.get("messageId").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id,
            _ => return Some(Err(broken(field("messageId"), "missing or not a text"))),
        };
        if r.get("eventSource").and_then(Value::as_str) != Some("aws:sqs") {
            return Some(Err(broken(field("eventSource"), "is not \"aws:sqs\"")));
        }
        let Some(body) = r.get("body").and_then(Value::as_str) else {
            return Some(Err(broken(field("body"), "missing or not a text")));
        };
        messages.push(BatchMessage {
            message_id: id.to_owned(),
            body: body.to_owned(),
        });
    }
    Some(Ok(messages))
}
