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

/// The restart function's ARN in the rendered definition. moto runs no
/// Lambda code without Docker, so nothing behind it needs to exist.
pub const RESTART_FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:appflow-retry-restart";

/// `definition` (the [`ASL`], or a variant of it) with Terraform's
/// placeholders filled in: the notification topic and [`RESTART_FUNCTION_ARN`].
pub fn render_asl(definition: &str, topic_arn: &str) -> String {
    definition
        .replace("${topic_arn}", topic_arn)
        .replace("${restart_function_arn}", RESTART_FUNCTION_ARN)
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
        assert!(rendered.contains(RESTART_FUNCTION_ARN));
        assert!(rendered.contains("arn:aws:sns:us-east-1:123456789012:t"));
        assert!(json["States"].is_object());
    }
}
