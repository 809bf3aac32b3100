//! `appflow-retry redrive`: replays the failures parked in the rule's
//! dead-letter queue and on-failure's errors queue (docs/design.md §6.11).
//! The work is `appflow_retry_runtime::redrive`; this finds the queues and
//! the function (flags, or the Terraform root's outputs) and wires the SDK.

use std::path::Path;

use crate::CliError;
use crate::terraform::Outputs;
use appflow_retry_aws::{LambdaInvoker, SqsQueue, region_of_queue_url, sdk_config_with};
use appflow_retry_runtime::redrive::{Options, Redrive, Report, Source};

/// The Terraform root's outputs redrive reads.
pub const OUTPUT_DEAD_LETTER_QUEUE: &str = "dead_letter_queue_url";
/// The output holding on-failure's errors queue URL (`<name>-on-failure-errors`).
pub const OUTPUT_ERRORS_QUEUE: &str = "on_failure_errors_queue_url";
/// The output holding the on-failure function's name.
pub const OUTPUT_FUNCTION: &str = "on_failure_function_name";

/// Where to read from and what to invoke.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Targets {
    /// The rule's dead-letter queue URL (`<name>-events-dlq`); None: not drained.
    pub dead_letter_queue_url: Option<String>,
    /// On-failure's errors queue URL (`<name>-on-failure-errors`); None: not drained.
    pub errors_queue_url: Option<String>,
    /// on-failure's name or ARN.
    pub function_name: String,
}

impl Targets {
    /// The queues in the order they are drained: dead letters first (they
    /// never reached on-failure), then on-failure's own failures.
    pub fn sources(&self) -> Vec<Source> {
        let mut sources = Vec::new();
        if let Some(url) = &self.dead_letter_queue_url {
            sources.push(Source {
                name: "dead-letter-queue".to_owned(),
                url: url.clone(),
            });
        }
        if let Some(url) = &self.errors_queue_url {
            sources.push(Source {
                name: "errors-queue".to_owned(),
                url: url.clone(),
            });
        }
        sources
    }
}

/// Reads what `terraform output -json` printed in the root module.
pub fn targets_from_terraform_output(json: &str) -> Result<Targets, CliError> {
    targets_from_outputs(&Outputs::parse(json)?)
}

fn targets_from_outputs(outputs: &Outputs) -> Result<Targets, CliError> {
    Ok(Targets {
        dead_letter_queue_url: Some(outputs.string(OUTPUT_DEAD_LETTER_QUEUE)?),
        errors_queue_url: Some(outputs.string(OUTPUT_ERRORS_QUEUE)?),
        function_name: outputs.string(OUTPUT_FUNCTION)?,
    })
}

/// Runs `terraform output -json` in `dir` and reads the targets from it.
pub fn targets_from_terraform_dir(dir: &Path) -> Result<Targets, CliError> {
    targets_from_outputs(&Outputs::read(dir)?)
}

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct RedriveArgs {
    /// The queues to drain and the function to invoke.
    pub targets: Targets,
    /// `--dry-run`, `--max` and the visibility timeout.
    pub options: Options,
    /// `--region`; None: the AWS CLI's environment and profile decide.
    pub region: Option<String>,
    /// `--endpoint-url`; None: AWS (an emulator in tests).
    pub endpoint_url: Option<String>,
    /// `--profile`; None: the environment's.
    pub profile: Option<String>,
}

/// Runs the redrive with the AWS SDK.
pub async fn redrive(args: &RedriveArgs) -> Result<Report, CliError> {
    let sources = args.targets.sources();
    if sources.is_empty() {
        return Err(CliError(
            "no queue to redrive: give --terraform-dir, or --dead-letter-queue-url and/or --errors-queue-url".into(),
        ));
    }
    if args.targets.function_name.is_empty() {
        return Err(CliError("--function-name: the on-failure function is required".into()));
    }
    // The queues' own region unless --region says otherwise.
    let region = args
        .region
        .as_deref()
        .or_else(|| sources.iter().find_map(|s| region_of_queue_url(&s.url)));
    let config = sdk_config_with(region, args.endpoint_url.as_deref(), args.profile.as_deref()).await;
    let redrive = Redrive {
        queue: SqsQueue::new(&config),
        invoker: LambdaInvoker::new(&config),
        function: args.targets.function_name.clone(),
    };
    Ok(redrive.run(&sources, args.options).await)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn terraform_outputs_name_the_queues_and_the_function() {
        let json = r#"{
          "dead_letter_queue_url": {"sensitive": false, "type": "string", "value": "http://q/dlq"},
          "on_failure_errors_queue_url": {"sensitive": false, "type": "string", "value": "http://q/errors"},
          "on_failure_function_name": {"sensitive": false, "type": "string", "value": "appflow-retry-on-failure"},
          "topic_arn": {"sensitive": false, "type": "string", "value": "arn:aws:sns:us-east-1:1:t"}
        }"#;
        let t = targets_from_terraform_output(json).unwrap();
        assert_eq!(t.dead_letter_queue_url.as_deref(), Some("http://q/dlq"));
        assert_eq!(t.errors_queue_url.as_deref(), Some("http://q/errors"));
        assert_eq!(t.function_name, "appflow-retry-on-failure");
        let names: Vec<_> = t.sources().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["dead-letter-queue", "errors-queue"]);
    }

    #[test]
    fn a_missing_or_odd_output_is_named() {
        let e = targets_from_terraform_output(r#"{"dead_letter_queue_url": {"value": "u"}}"#).unwrap_err();
        assert!(
            e.0.starts_with("terraform output `on_failure_errors_queue_url` is missing"),
            "{e}"
        );
        let e = targets_from_terraform_output(
            r#"{"dead_letter_queue_url": {"value": 3}, "on_failure_errors_queue_url": {"value": "u"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.0, "terraform output `dead_letter_queue_url`: not a non-empty string");
        assert!(targets_from_terraform_output("{}").is_err());
        assert!(targets_from_terraform_output("No outputs found").is_err());
    }
}
