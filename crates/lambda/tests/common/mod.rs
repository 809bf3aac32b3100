//! A world for integration tests: moto (SSM, Step Functions, SNS, SQS) and
//! the AppFlow emulator on free loopback ports, SDK clients for both, and the
//! handlers wired to the real AWS adapters.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod routing;

use std::time::Duration;

use appflow_emulator::Emulator;
use appflow_retry_aws::{AwsAppFlow, SfnStateMachine, SsmParameterStore, sdk_config_for_endpoint};
use appflow_retry_runtime::ports::SystemClock;
use appflow_retry_runtime::{Coverage, OnFailure, PolicyCache, Restart, Sweep, SweepLimits};
use appflow_retry_testkit::moto::Moto;
use appflow_retry_testkit::service;
use aws_config::SdkConfig;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{Value, json};

pub use appflow_retry_policy::naming::DEFAULT_POLICY_PREFIX as PREFIX;
pub use appflow_retry_testkit::service::{ASL, Answer, fast_retry};

/// How long the restart answerer waits for each restart message: longer
/// than any test's way to its Restart task, retries included.
const ANSWER_PATIENCE: Duration = Duration::from_secs(20);

pub struct World {
    pub moto: Moto,
    pub emulator: Emulator,
    pub moto_config: SdkConfig,
    pub appflow_config: SdkConfig,
    pub ssm: aws_sdk_ssm::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub topic_arn: String,
    pub queue_url: String,
    pub state_machine_arn: String,
}

/// The ARN of the queue at `url`.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

/// Three minutes ago, on a whole second (the emulator keeps milliseconds):
/// when the failed runs of the tests started.
pub fn three_minutes_ago() -> chrono::DateTime<chrono::Utc> {
    use chrono::DurationRound;
    (chrono::Utc::now() - chrono::TimeDelta::minutes(3))
        .duration_trunc(chrono::TimeDelta::seconds(1))
        .unwrap_or_else(|_| chrono::Utc::now())
}

/// The state machine definition as Terraform renders it.
pub fn render_asl(topic_arn: &str) -> String {
    service::render_asl(ASL, topic_arn)
}

impl World {
    pub async fn new() -> World {
        let moto = Moto::start_async().await.expect("moto starts (run `make venv`)");
        let emulator = Emulator::start().await.unwrap();
        let moto_config = sdk_config_for_endpoint(moto.endpoint()).await;
        let appflow_config = sdk_config_for_endpoint(&emulator.endpoint()).await;
        let ssm = aws_sdk_ssm::Client::new(&moto_config);
        let sfn = aws_sdk_sfn::Client::new(&moto_config);
        let sns = aws_sdk_sns::Client::new(&moto_config);
        let sqs = aws_sdk_sqs::Client::new(&moto_config);

        let topic_arn = sns
            .create_topic()
            .name("appflow-retry")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name("notifications")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue_arn = queue_arn(&sqs, &queue_url).await;
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        service::create_restart_queue(&sqs).await.unwrap();
        let state_machine_arn = service::create_state_machine(&sfn, "appflow-retry", &render_asl(&topic_arn))
            .await
            .unwrap();
        World {
            moto,
            emulator,
            moto_config,
            appflow_config,
            ssm,
            sfn,
            sqs,
            topic_arn,
            queue_url,
            state_machine_arn,
        }
    }

    /// A world whose default policy parameter holds `default`.
    pub async fn with_default(default: &str) -> World {
        let w = World::new().await;
        w.put_parameter(&appflow_retry_policy::naming::default_parameter(PREFIX), default)
            .await;
        w
    }

    pub async fn put_parameter(&self, name: &str, value: &str) {
        service::put_parameter(&self.ssm, name, value).await.unwrap();
    }

    pub fn on_failure(&self) -> OnFailure<SsmParameterStore, AwsAppFlow, SfnStateMachine, SystemClock> {
        OnFailure {
            policies: PolicyCache::new(SsmParameterStore::new(&self.moto_config), PREFIX, 60),
            appflow: AwsAppFlow::new(&self.appflow_config, &fast_retry()),
            state_machine: SfnStateMachine::new(&self.moto_config, &self.state_machine_arn),
            clock: SystemClock,
            max_history_pages: 3,
        }
    }

    /// The sweep over the covered flows, with the on-failure handler's ports.
    pub fn sweep(
        &self,
        coverage: Coverage,
        limits: SweepLimits,
    ) -> Sweep<SsmParameterStore, AwsAppFlow, SfnStateMachine, SystemClock> {
        Sweep::new(self.on_failure(), coverage, limits)
    }

    pub fn restart(&self) -> Restart<SsmParameterStore, AwsAppFlow, SystemClock> {
        Restart {
            policies: PolicyCache::new(SsmParameterStore::new(&self.moto_config), PREFIX, 60),
            appflow: AwsAppFlow::new(&self.appflow_config, &fast_retry()),
            clock: SystemClock,
            max_history_pages: 3,
        }
    }

    /// Names of the state machine's executions.
    pub async fn executions(&self) -> Vec<String> {
        self.sfn
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .send()
            .await
            .unwrap()
            .executions
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    /// Plays the restart Lambda in the background: answers the restarts the
    /// Restart tasks queue, in order, with `answers` (see
    /// [`service::answer_restarts`]). Start it before the execution; join it
    /// for the restart payloads it took.
    pub fn answer_restarts(
        &self,
        answers: Vec<Answer>,
    ) -> tokio::task::JoinHandle<Result<Vec<Value>, appflow_retry_testkit::Error>> {
        tokio::spawn(service::answer_restarts(
            self.sqs.clone(),
            self.sfn.clone(),
            answers,
            ANSWER_PATIENCE,
        ))
    }

    /// Runs an execution with `input` to its end (see [`World::run_execution`])
    /// while the restart Lambda is played with `answers`; returns it and the
    /// restart payloads taken, one per answer.
    pub async fn run_answering(
        &self,
        name: &str,
        input: &Value,
        answers: Vec<Answer>,
    ) -> (
        aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
        Vec<Value>,
    ) {
        let answerer = self.answer_restarts(answers);
        let d = self.run_execution(name, input).await;
        let taken = answerer
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("execution {name}: the restart answerer: {e}; {d:?}"));
        (d, taken)
    }

    /// Starts an execution with `input` and waits (bounded) until it ends.
    pub async fn run_execution(
        &self,
        name: &str,
        input: &Value,
    ) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
        let arn = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .unwrap()
            .execution_arn;
        for _ in 0..600 {
            let d = self.sfn.describe_execution().execution_arn(&arn).send().await.unwrap();
            if d.status != ExecutionStatus::Running {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("execution {name} still running after 30s");
    }

    /// The state names an execution entered, in order.
    pub async fn states_entered(&self, execution_arn: &str) -> Vec<String> {
        let history = self
            .sfn
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .send()
            .await
            .unwrap();
        history
            .events
            .iter()
            .filter_map(|e| e.state_entered_event_details().map(|d| d.name.clone()))
            .collect()
    }

    /// Notifications published to the topic (drains the queue).
    pub async fn notifications(&self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(m.body.unwrap_or_default());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// The input of the state machine's execution `name`.
pub async fn input_of(w: &World, name: &str) -> Value {
    let arn = format!(
        "{}:{name}",
        w.state_machine_arn.replace(":stateMachine:", ":execution:")
    );
    let d = w.sfn.describe_execution().execution_arn(arn).send().await.unwrap();
    serde_json::from_str(d.input.as_deref().unwrap()).unwrap()
}

/// A decision as the on-failure Lambda puts it in the state machine input.
pub fn machine_input(action: &str, delay: Option<u64>, notify: bool, notify_on: &[&str]) -> Value {
    let mut decision = json!({
        "flow": "sf-accounts",
        "execution_id": "9aa00099-9943-449a-9c7a-488dbc801242",
        "failed_run_started_at": "2026-11-29T09:02:47.643Z",
        "policy": "/appflow-retry/flows/sf-accounts",
        "error_class": "transient",
        "attempt": 2,
        "max_retries": 3,
        "action": action,
        "reason": "test reason",
        "notify_on": notify_on,
        "notify": notify,
    });
    if let Some(d) = delay {
        decision["delay_seconds"] = json!(d);
    }
    json!({
        "flow_name": "sf-accounts",
        "execution_id": "9aa00099-9943-449a-9c7a-488dbc801242",
        "error_message": "Read timed out",
        "decision": decision,
    })
}
