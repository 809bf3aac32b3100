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

use serde_json::Value;

use crate::on_failure::OnFailure;
use crate::ports::{AppFlow, Clock, ParameterStore, StateMachine};
use crate::queue::{BatchMessage, BatchReply, ItemFailure};

impl<S: ParameterStore, A: AppFlow, M: StateMachine, C: Clock> OnFailure<S, A, M, C> {
    /// Handles a batch from the intake queue, one message after another, as
    /// [`handle_any`](Self::handle_any) handles an event. A message whose
    /// body is not a JSON event, or whose handling fails, is kept (retried,
    /// then the errors queue); so is every message not started before
    /// `stop()` said the invocation's time is up.
    pub async fn handle_batch(&self, messages: Vec<BatchMessage>, stop: impl Fn() -> bool) -> BatchReply {
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
