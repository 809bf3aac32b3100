//! The service's AWS side as the integration tests, the benchmarks and the
//! demo set it up on moto: the state machine rendered from
//! `statemachines/retry.asl.json` the way Terraform renders it, policies
//! published to SSM, and AppFlow client retry settings that do not wait
//! real seconds.
//!
//! The SSM prefix is the service's own default,
//! [`DEFAULT_POLICY_PREFIX`](appflow_retry_policy::naming::DEFAULT_POLICY_PREFIX).

use std::time::Duration;

use appflow_retry_aws::AppFlowSdkRetry;

use crate::Error;

/// The state machine definition, with Terraform's `${...}` placeholders.
pub const ASL: &str = include_str!("../../../statemachines/retry.asl.json");

/// The account every fake ARN is in.
pub const ACCOUNT: &str = "123456789012";

/// The restart queue's name (docs/design.md §5.12): the Restart task sends
/// its restart there; [`create_restart_queue`] makes it in moto.
pub const RESTART_QUEUE: &str = "appflow-retry-restart";

/// The restart queue's URL in the rendered definition (moto finds a queue
/// by the URL's last segment, whatever its host).
pub const RESTART_QUEUE_URL: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/appflow-retry-restart";

/// `definition` (the [`ASL`], or a variant of it) with Terraform's
/// placeholders filled in: the notification topic and [`RESTART_QUEUE_URL`].
pub fn render_asl(definition: &str, topic_arn: &str) -> String {
    definition
        .replace("${topic_arn}", topic_arn)
        .replace("${restart_queue_url}", RESTART_QUEUE_URL)
}

/// Creates the restart queue ([`RESTART_QUEUE`]) in moto, so that the
/// Restart task of a definition from [`render_asl`] can send to it.
///
/// # Errors
///
/// Fails if SQS refuses the call; the message names it.
pub async fn create_restart_queue(sqs: &aws_sdk_sqs::Client) -> Result<String, Error> {
    sqs.create_queue()
        .queue_name(RESTART_QUEUE)
        .send()
        .await
        .map(|out| out.queue_url.unwrap_or_default())
        .map_err(|e| Error::new(format!("CreateQueue: {}", aws_sdk_sqs::error::DisplayErrorContext(e))))
}

/// [`create_restart_queue`] in the moto at `endpoint`, for a caller with no
/// SQS client of its own (the demo).
///
/// # Errors
///
/// Fails if SQS refuses the call; the message names it.
pub async fn create_restart_queue_at(endpoint: &str) -> Result<String, Error> {
    let config = appflow_retry_aws::sdk_config_for_endpoint(endpoint).await;
    create_restart_queue(&aws_sdk_sqs::Client::new(&config)).await
}

/// How the restart function answers one queued restart (docs/design.md
/// §5.12): its output (SendTaskSuccess), or its error's stable name and
/// cause (SendTaskFailure).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// SendTaskSuccess with this output.
    Output(serde_json::Value),
    /// SendTaskFailure with this error and cause.
    Error(String, String),
    /// No answer: the message is taken and deleted, its token left alone
    /// (what the restart function does when its heartbeat says the task is
    /// gone). In moto, the message of a retried attempt: moto's interpreter
    /// gives every attempt of a Task the token of its first, whose answer it
    /// keeps, so a retry ends at once with the first attempt's answer and a
    /// second answer to that token would race the execution's end.
    Unanswered,
}

/// Plays the restart function for the tests that run the state machine in
/// moto: takes each message the Restart task sends to the restart queue, in
/// order, answers its task token with the next of `answers` (or leaves it
/// for [`Answer::Unanswered`]), deletes it,
/// and returns the restart payloads it took (what the restart function
/// would get). Gives up after `patience` without a message.
///
/// # Errors
///
/// Fails if a call fails, a message has no task token, or no message comes in time.
pub async fn answer_restarts(
    sqs: aws_sdk_sqs::Client,
    sfn: aws_sdk_sfn::Client,
    answers: Vec<Answer>,
    patience: Duration,
) -> Result<Vec<serde_json::Value>, Error> {
    let mut taken = Vec::new();
    for answer in answers {
        let give_up = tokio::time::Instant::now() + patience;
        let message = loop {
            let received = sqs
                .receive_message()
                .queue_url(RESTART_QUEUE_URL)
                .max_number_of_messages(1)
                .send()
                .await
                .map_err(|e| {
                    Error::new(format!(
                        "ReceiveMessage: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(e)
                    ))
                })?;
            if let Some(m) = received.messages.unwrap_or_default().into_iter().next() {
                break m;
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(Error::new(format!(
                    "no restart message came in {patience:?} ({} answered)",
                    taken.len()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let body: serde_json::Value = serde_json::from_str(message.body().unwrap_or_default())
            .map_err(|e| Error::new(format!("a restart message is not JSON: {e}")))?;
        let token = body["task_token"]
            .as_str()
            .ok_or_else(|| Error::new(format!("a restart message without task_token: {body}")))?;
        let sent = match answer {
            Answer::Output(output) => sfn
                .send_task_success()
                .task_token(token)
                .output(output.to_string())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_sfn::error::DisplayErrorContext(e).to_string()),
            Answer::Error(error, cause) => sfn
                .send_task_failure()
                .task_token(token)
                .error(error)
                .cause(cause)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_sfn::error::DisplayErrorContext(e).to_string()),
            Answer::Unanswered => Ok(()),
        };
        sent.map_err(|e| Error::new(format!("SendTask*: {e}")))?;
        sqs.delete_message()
            .queue_url(RESTART_QUEUE_URL)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await
            .map_err(|e| Error::new(format!("DeleteMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e))))?;
        taken.push(body["restart"].clone());
    }
    Ok(taken)
}

/// Creates the standard state machine `name` running `definition` (already
/// rendered, see [`render_asl`]), with the role `name`; returns its ARN.
///
/// # Errors
///
/// Fails if Step Functions refuses the call; the message names it.
pub async fn create_state_machine(sfn: &aws_sdk_sfn::Client, name: &str, definition: &str) -> Result<String, Error> {
    sfn.create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
        .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
        .send()
        .await
        .map(|out| out.state_machine_arn)
        .map_err(|e| {
            Error::new(format!(
                "CreateStateMachine: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            ))
        })
}

/// Writes the String parameter `name` (overwriting it): how Terraform
/// publishes a policy file.
///
/// # Errors
///
/// Fails if SSM refuses the call; the message names the parameter.
pub async fn put_parameter(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) -> Result<(), Error> {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::new(format!(
                "SSM PutParameter {name}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(e)
            ))
        })
}

/// AppFlow client retry settings for emulated AppFlow: a few attempts, no
/// real seconds of backoff.
pub fn fast_retry() -> AppFlowSdkRetry {
    AppFlowSdkRetry {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        attempt_timeout: Duration::from_millis(800),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rendered_definition_has_no_placeholder_left_and_is_json() {
        let rendered = render_asl(ASL, "arn:aws:sns:us-east-1:123456789012:t");
        assert!(!rendered.contains("${"), "{rendered}");
        let json: serde_json::Value = serde_json::from_str(&rendered).expect("JSON");
        assert!(
            rendered.contains(&format!("\"QueueUrl\": \"{RESTART_QUEUE_URL}\"")),
            "{rendered}"
        );
        assert!(rendered.contains("arn:aws:sns:us-east-1:123456789012:t"));
        assert!(json["States"].is_object());
    }
}
