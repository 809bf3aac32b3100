//! The intake queue (docs/design.md §5.11): EventBridge sends the rule's
//! events to an SQS queue, and Lambda's event source mapping hands them to
//! on-failure in batches, at most `decision_concurrency` invocations at a
//! time. That bound is the decision storm guard: an outage of a thousand
//! flows is decided at a pace SSM and AppFlow answer, instead of a
//! thousand cold invocations at once that throttle and park.
//!
//! The batch is the event source mapping's SQS event; the reply lists the
//! messages that were not handled (`ReportBatchItemFailures`): they come
//! back after the queue's visibility timeout, and after `maxReceiveCount`
//! receives they move to the errors queue, where `appflow-retry redrive`
//! finds them. A message is never deleted unless it was handled.

use serde::Serialize;
use serde_json::Value;

use appflow_retry_policy::EventError;

use crate::on_failure::OnFailure;
use crate::ports::{AppFlow, Clock, ParameterStore, StateMachine};

/// One message of the batch: its id (to report it failed) and its body
/// (the EventBridge event, as the rule's target sends it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeMessage {
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
}

/// One message to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// The message's `messageId`.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The messages of an SQS batch, or None when `event` is not one (an
/// EventBridge event: redrive and tests invoke on-failure with the event
/// itself). A batch whose envelope is broken is an error naming the field:
/// without every message id, no message can be reported failed, so the
/// whole batch must come back.
pub fn sqs_batch(event: &Value) -> Option<Result<Vec<IntakeMessage>, EventError>> {
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
        messages.push(IntakeMessage {
            message_id: id.to_owned(),
            body: body.to_owned(),
        });
    }
    Some(Ok(messages))
}

impl<S: ParameterStore, A: AppFlow, M: StateMachine, C: Clock> OnFailure<S, A, M, C> {
    /// Handles a batch from the intake queue, one message after another, as
    /// [`handle_any`](Self::handle_any) handles an event. A message whose
    /// body is not a JSON event, or whose handling fails, is kept (retried,
    /// then the errors queue); so is every message not started before
    /// `stop()` said the invocation's time is up.
    pub async fn handle_batch(&self, messages: Vec<IntakeMessage>, stop: impl Fn() -> bool) -> BatchReply {
        let mut reply = BatchReply::default();
        let mut stopped = false;
        for m in messages {
            stopped = stopped || stop();
            let result = if stopped {
                Err((
                    "DeadlineExceeded",
                    "not started: the invocation's time is up".to_owned(),
                ))
            } else {
                match serde_json::from_str::<Value>(&m.body) {
                    Err(e) => Err(("InvalidEvent", format!("the message body is not JSON: {e}"))),
                    Ok(event) => self
                        .handle_any(&event)
                        .await
                        .map_err(|e| (e.error_type(), e.to_string())),
                }
            };
            if let Err((error_type, error)) = result {
                tracing::error!(message_id = %m.message_id, error_type, %error, "intake message kept for a retry");
                reply.failures.push(ItemFailure {
                    item_identifier: m.message_id,
                });
            }
        }
        reply
    }
}
