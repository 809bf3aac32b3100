//! statemachines/retry.asl.json executed by moto's Step Functions
//! interpreter, each route, with the restart Lambda played through the
//! restart queue: each restart message is answered with SendTaskSuccess (a
//! canned output) or SendTaskFailure (one of its named errors).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_sfn::types::ExecutionStatus;
use common::{Answer, World, machine_input};
use serde_json::{Value, json};

/// A topic that does not exist: every publish to it fails.
const MISSING_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:no-such-topic";

/// The template, parsed.
fn asl() -> Value {
    serde_json::from_str(common::ASL).expect("the template is JSON")
}

/// `asl` with the retries of every Task kept (same errors, same order, same
/// Catch) but shortened to at most one retry after one second, without
/// jitter, so that a test can run a retry path in moto in real time. The real
/// budgets are checked statically on the template itself.
fn with_fast_retries(mut asl: Value) -> Value {
    for state in asl["States"].as_object_mut().unwrap().values_mut() {
        // `get_mut`, not `state["Retry"]`, which would add `"Retry": null`.
        let retriers = state.get_mut("Retry").and_then(Value::as_array_mut);
        for retrier in retriers.into_iter().flatten() {
            let attempts = retrier["MaxAttempts"].as_u64().unwrap_or(3).min(1);
            let retrier = retrier.as_object_mut().unwrap();
            retrier.insert("MaxAttempts".into(), json!(attempts));
            retrier.insert("IntervalSeconds".into(), json!(1));
            retrier.insert("BackoffRate".into(), json!(1.0));
            retrier.insert("JitterStrategy".into(), json!("NONE"));
            retrier.remove("MaxDelaySeconds");
        }
    }
    asl
}

/// The restart Lambda's answer: its output, as SendTaskSuccess sends it.
fn output_of(value: Value) -> Answer {
    Answer::Output(value)
}

/// The restart Lambda's answer: its error's stable name and cause, as
/// SendTaskFailure sends them.
fn error_of(name: &str, cause: &str) -> Answer {
    Answer::Error(name.into(), cause.into())
}

/// A plain restart's output, with `notify`.
fn restarted(notify: bool) -> Answer {
    output_of(json!({"outcome": "restarted", "new_execution_id": "run-2", "reason": "r", "notify": notify}))
}

/// The cause the restart Lambda gives with AppFlowFailed.
const APPFLOW_FAILED_CAUSE: &str = "StartFlow: ValidationException: the connector profile no longer exists";

/// Whether a notification shows the restart error's `cause` in its details.
/// moto's SendTaskFailure drops the cause (the caught error's Cause is null
/// there, which the message still shows whole); Step Functions keeps it.
fn shows_cause(message: &str, cause: &str) -> bool {
    message.contains(cause) || message.contains(r#""Cause":null"#)
}

/// The states of an execution whose input the restart Lambda refused.
const REFUSED: [&str; 6] = [
    "Route",
    "WaitBackoff",
    "Restart",
    "RestartFailedRoute",
    "NotifyInputRefused",
    "RestartFailed",
];

/// Replaces the World's state machine definition with `asl`, rendered as
/// Terraform renders the template, publishing to `topic_arn`.
async fn use_definition(w: &World, asl: &Value, topic_arn: &str) {
    let definition = appflow_retry_testkit::service::render_asl(&asl.to_string(), topic_arn);
    w.sfn
        .update_state_machine()
        .state_machine_arn(&w.state_machine_arn)
        .definition(definition)
        .send()
        .await
        .unwrap();
}

/// The execution's history events, in order.
async fn history(w: &World, execution_arn: &str) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    w.sfn
        .get_execution_history()
        .execution_arn(execution_arn)
        .max_results(1000)
        .send()
        .await
        .unwrap()
        .events
}

/// How many times the task in `state` was scheduled: 1 + its retries.
async fn attempts(w: &World, execution_arn: &str, state: &str) -> usize {
    task_parameters(w, execution_arn, state).await.len()
}

/// The resolved `Parameters` of every attempt of the task in `state`.
async fn task_parameters(w: &World, execution_arn: &str, state: &str) -> Vec<Value> {
    let mut current = String::new();
    let mut out = Vec::new();
    for event in history(w, execution_arn).await {
        if let Some(entered) = event.state_entered_event_details() {
            current.clone_from(&entered.name);
        }
        if let Some(scheduled) = event.task_scheduled_event_details()
            && current == state
        {
            out.push(serde_json::from_str(&scheduled.parameters).unwrap());
        }
    }
    out
}

/// The parsed output of a finished execution.
fn output(d: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput) -> Value {
    serde_json::from_str(d.output.as_deref().expect("an output")).unwrap()
}

/// The states of an execution whose restart failed for good.
const GAVE_UP: [&str; 6] = [
    "Route",
    "WaitBackoff",
    "Restart",
    "RestartFailedRoute",
    "NotifyRestartFailed",
    "RestartFailed",
];

#[tokio::test]
async fn retry_waits_restarts_and_notifies_both_steps() {
    let w = World::new().await;
    let answer = output_of(
        json!({"outcome": "restarted", "new_execution_id": "run-2", "reason": "restart 2 of 3 after 0s", "notify": true}),
    );
    let (d, _) = w
        .run_answering(
            "retry-notify",
            &machine_input("retry", Some(0), true, &["retry"]),
            vec![answer],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    let output: serde_json::Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["restart"]["new_execution_id"], "run-2");
    let states = w.states_entered(&d.execution_arn).await;
    assert_eq!(
        states,
        [
            "Route",
            "NotifyRetry",
            "WaitBackoff",
            "Restart",
            "AfterRestart",
            "NotifyRestartOutcome",
            "Done"
        ]
    );
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("will restart it in 0 seconds: restart 2 of 3")
                && m.contains("AppFlow said: Read timed out")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("restarted. New run: run-2")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn a_quiet_retry_takes_five_states() {
    let w = World::new().await;
    let (d, _) = w
        .run_answering(
            "retry-quiet",
            &machine_input("retry", Some(1), false, &["give_up"]),
            vec![restarted(false)],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    let states = w.states_entered(&d.execution_arn).await;
    assert_eq!(states, ["Route", "WaitBackoff", "Restart", "AfterRestart", "Done"]);
    assert!(w.notifications().await.is_empty());
}

#[tokio::test]
async fn give_up_and_skip_notify_only_when_the_decision_says_so() {
    let w = World::new().await;
    let d = w
        .run_execution("give-up", &machine_input("give_up", None, true, &["give_up", "skip"]))
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        ["Route", "NotifyNoRestart", "Done"]
    );
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("will NOT be restarted: give_up. test reason"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("Re-run the flow by hand"), "{}", messages[0]);

    let d = w
        .run_execution("skip-quiet", &machine_input("skip", None, false, &["give_up"]))
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(w.states_entered(&d.execution_arn).await, ["Route", "Done"]);
    assert!(w.notifications().await.is_empty());
}

#[tokio::test]
async fn a_non_retryable_restart_error_goes_straight_to_the_give_up_notification() {
    let w = World::new().await;
    let (d, _) = w
        .run_answering(
            "restart-refused",
            &machine_input("retry", Some(0), false, &[]),
            vec![error_of("AppFlowFailed", APPFLOW_FAILED_CAUSE)],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("RestartFailed"));
    assert_eq!(w.states_entered(&d.execution_arn).await, GAVE_UP);
    // Not retried, although States.TaskFailed in a later retrier matches it too.
    assert_eq!(attempts(&w, &d.execution_arn, "Restart").await, 1);
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains(r#"Last error: AppFlowFailed. Details: {"Error":"AppFlowFailed","Cause":"#),
        "{}",
        messages[0]
    );
    assert!(shows_cause(&messages[0], APPFLOW_FAILED_CAUSE), "{}", messages[0]);
}

// moto's interpreter gives every attempt of a Task the task token of its
// first attempt and keeps that token's answer: a retried attempt queues a new
// message (with that token) and ends at once with the first attempt's answer.
// AWS gives each attempt a token of its own, answered anew. So these tests
// answer a restart's first message only and take its retry's message
// unanswered; that a retry can end in a success is a property of the
// definition (the retriers), checked statically below.

/// The restart's first attempt and its retry (a new message, a new token)
/// both answered with `error`.
fn failing_twice(error: Answer) -> Vec<Answer> {
    vec![error.clone(), error]
}

#[tokio::test]
async fn an_unlisted_restart_error_is_retried_with_the_same_payload() {
    let w = World::new().await;
    use_definition(&w, &with_fast_retries(asl()), &w.topic_arn).await;
    let (d, taken) = w
        .run_answering(
            "restart-retried",
            &machine_input("retry", Some(0), false, &[]),
            vec![error_of("SomethingElse", "a name no retrier lists"), restarted(false)],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    // States.TaskFailed caught the unlisted error: retried (once, shortened),
    // not sent straight to the Catch as the non-retryable names are.
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        ["Route", "WaitBackoff", "Restart", "AfterRestart", "Done"]
    );
    assert_eq!(output(&d)["restart"]["new_execution_id"], "run-2");
    assert_eq!(attempts(&w, &d.execution_arn, "Restart").await, 2);
    // The retry, a new message with a new token, carried the same execution
    // name and start time, by which the Lambda knows its own run.
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[0], taken[1]);
    assert_eq!(taken[0]["execution_name"], "restart-retried");
}

#[tokio::test]
async fn a_restart_that_keeps_failing_gives_up_after_its_retries() {
    let w = World::new().await;
    use_definition(&w, &with_fast_retries(asl()), &w.topic_arn).await;
    // Throttling, and a transient error of the restart Lambda's, each with
    // its retrier (shortened to one retry).
    for (name, error, cause) in [
        (
            "restart-throttled",
            "AppFlowThrottled",
            "StartFlow: ThrottlingException: Rate exceeded",
        ),
        (
            "restart-unavailable",
            "AppFlowUnavailable",
            "StartFlow: 503 Service Unavailable",
        ),
    ] {
        let (d, taken) = w
            .run_answering(
                name,
                &machine_input("retry", Some(0), false, &[]),
                failing_twice(error_of(error, cause)),
            )
            .await;
        assert_eq!(d.status, ExecutionStatus::Failed, "{name}");
        assert_eq!(d.error.as_deref(), Some("RestartFailed"), "{name}");
        assert_eq!(w.states_entered(&d.execution_arn).await, GAVE_UP, "{name}");
        assert_eq!(attempts(&w, &d.execution_arn, "Restart").await, 2, "{name}");
        assert_eq!(taken.len(), 2, "{name}");
        let messages = w.notifications().await;
        assert_eq!(messages.len(), 1, "{name}: {messages:?}");
        let message = &messages[0];
        for expected in [
            "could not confirm the restart of failed run 9aa00099-9943-449a-9c7a-488dbc801242",
            // The error's name, and the whole error.
            &format!("Last error: {error}. Details: {{"),
            // No outright "re-run it": the restart may have happened.
            "UNKNOWN: StartFlow may have been accepted",
            "look for a run started after 2026-11-29T09:02:47.643Z",
            "\n  aws appflow describe-flow-execution-records --flow-name sf-accounts\n",
            "Re-run it by hand only if there is none",
        ] {
            assert!(message.contains(expected), "{name}: no {expected:?} in:\n{message}");
        }
        assert!(shows_cause(message, cause), "{name}: {message}");
    }
}

#[tokio::test]
async fn a_failed_give_up_notification_still_ends_as_restart_failed() {
    let w = World::new().await;
    use_definition(&w, &with_fast_retries(asl()), MISSING_TOPIC).await;
    let (d, _) = w
        .run_answering(
            "notify-failed-fails",
            &machine_input("retry", Some(0), false, &[]),
            vec![error_of("AppFlowFailed", APPFLOW_FAILED_CAUSE)],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("RestartFailed"));
    assert_eq!(w.states_entered(&d.execution_arn).await, GAVE_UP);
    assert_eq!(attempts(&w, &d.execution_arn, "NotifyRestartFailed").await, 2);
}

#[test]
fn the_template_has_exactly_the_placeholders_terraform_fills() {
    let mut placeholders: Vec<&str> = common::ASL
        .match_indices("${")
        .map(|(i, _)| {
            let rest = &common::ASL[i + 2..];
            &rest[..rest.find('}').unwrap()]
        })
        .collect();
    placeholders.sort();
    placeholders.dedup();
    assert_eq!(placeholders, ["restart_queue_url", "topic_arn"]);
}

#[tokio::test]
async fn a_failed_retry_notification_still_waits_and_restarts() {
    let w = World::new().await;
    use_definition(&w, &with_fast_retries(asl()), MISSING_TOPIC).await;
    let (d, taken) = w
        .run_answering(
            "notify-retry-fails",
            &machine_input("retry", Some(0), true, &["retry"]),
            vec![restarted(false)],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        ["Route", "NotifyRetry", "WaitBackoff", "Restart", "AfterRestart", "Done"]
    );
    // Published, retried once (the shortened retry), then caught.
    assert_eq!(attempts(&w, &d.execution_arn, "NotifyRetry").await, 2);
    let output = output(&d);
    assert_eq!(output["restart"]["new_execution_id"], "run-2");
    // What the SNS integration reports for a topic that does not exist.
    assert_eq!(
        output["notification_error"]["Error"], "SNS.NotFoundException",
        "{output}"
    );
    assert!(w.notifications().await.is_empty());
    // The caught error stays in the execution's data, out of the restart's input.
    assert_eq!(sorted_keys(&taken[0]), RESTART_PAYLOAD_KEYS);
}

#[tokio::test]
async fn a_failed_outcome_notification_still_succeeds_with_the_restart_result() {
    let w = World::new().await;
    use_definition(&w, &with_fast_retries(asl()), MISSING_TOPIC).await;
    let (d, _) = w
        .run_answering(
            "notify-outcome-fails",
            &machine_input("retry", Some(0), false, &["retry"]),
            vec![restarted(true)],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        [
            "Route",
            "WaitBackoff",
            "Restart",
            "AfterRestart",
            "NotifyRestartOutcome",
            "Done"
        ]
    );
    assert_eq!(attempts(&w, &d.execution_arn, "NotifyRestartOutcome").await, 2);
    let output = output(&d);
    assert_eq!(
        output["restart"],
        json!({"outcome": "restarted", "new_execution_id": "run-2", "reason": "r", "notify": true})
    );
    assert!(output["notification_error"]["Error"].is_string(), "{output}");
}

#[tokio::test]
async fn a_failed_no_restart_notification_still_succeeds() {
    let w = World::new().await;
    use_definition(&w, &with_fast_retries(asl()), MISSING_TOPIC).await;
    let d = w
        .run_execution(
            "notify-give-up-fails",
            &machine_input("give_up", None, true, &["give_up"]),
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        ["Route", "NotifyNoRestart", "Done"]
    );
    assert_eq!(attempts(&w, &d.execution_arn, "NotifyNoRestart").await, 2);
    assert!(output(&d)["notification_error"]["Error"].is_string());
}

/// The state a Task goes to when it succeeds.
fn success_next(state: &Value) -> &str {
    state["Next"]
        .as_str()
        .expect("notification tasks go on to a next state")
}

#[test]
fn every_notification_is_retried_and_then_caught_onto_its_success_path() {
    let asl = asl();
    let mut seen = Vec::new();
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Resource"] != "arn:aws:states:::sns:publish" {
            continue;
        }
        seen.push(name.as_str());
        let retry = state["Retry"].as_array().unwrap_or_else(|| panic!("{name}: no Retry"));
        assert!(
            retry
                .iter()
                .any(|r| r["ErrorEquals"] == json!(["States.ALL"]) && r["MaxAttempts"].as_u64() > Some(0)),
            "{name}: no retry of States.ALL"
        );
        let catch = state["Catch"].as_array().unwrap_or_else(|| panic!("{name}: no Catch"));
        let all = catch
            .iter()
            .find(|c| c["ErrorEquals"] == json!(["States.ALL"]))
            .unwrap_or_else(|| panic!("{name}: no Catch of States.ALL"));
        assert_eq!(
            all["Next"],
            success_next(state),
            "{name}: a failed notification changes the path"
        );
        // The input survives: the error goes beside it, not over it.
        let result_path = all["ResultPath"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: Catch replaces the input"));
        assert!(
            result_path.starts_with("$.") && result_path.len() > 2,
            "{name}: {result_path}"
        );
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            "NotifyInputRefused",
            "NotifyNoRestart",
            "NotifyNotReactivated",
            "NotifyReactivate",
            "NotifyReactivateFailed",
            "NotifyReactivateOutcome",
            "NotifyRecovered",
            "NotifyRestartFailed",
            "NotifyRestartOutcome",
            "NotifyRetry"
        ]
    );
}

/// The keys of an object, sorted.
fn sorted_keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// The keys of the restart Lambda's payload (its contract with the ASL).
const RESTART_PAYLOAD_KEYS: [&str; 5] = [
    "decision",
    "execution_id",
    "execution_name",
    "execution_started_at",
    "flow_name",
];

#[tokio::test]
async fn the_restart_lambda_gets_the_input_and_the_execution_it_runs_in() {
    let w = World::new().await;
    let input = machine_input("retry", Some(0), false, &[]);
    let (d, taken) = w.run_answering("restart-payload", &input, vec![restarted(false)]).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    let calls = task_parameters(&w, &d.execution_arn, "Restart").await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["QueueUrl"], appflow_retry_testkit::service::RESTART_QUEUE_URL);
    // The message the restart Lambda reads: its task token beside the restart.
    let sent = &calls[0]["MessageBody"];
    let sent: Value = match sent.as_str() {
        Some(text) => serde_json::from_str(text).unwrap(),
        None => sent.clone(),
    };
    assert_eq!(sorted_keys(&sent), ["restart", "task_token"], "{sent}");
    assert!(sent["task_token"].as_str().is_some_and(|t| !t.is_empty()), "{sent}");
    assert_eq!(taken, [sent["restart"].clone()]);
    let payload = &taken[0];
    assert_eq!(sorted_keys(payload), RESTART_PAYLOAD_KEYS, "{payload}");
    assert_eq!(payload["flow_name"], input["flow_name"]);
    assert_eq!(payload["execution_id"], input["execution_id"]);
    assert_eq!(payload["decision"], input["decision"]);
    assert_eq!(payload["execution_name"], "restart-payload");
    // RFC 3339, the execution's start time. moto writes microseconds and
    // `+00:00` where AWS writes milliseconds and `Z`, and DescribeExecution
    // rounds: compare instants to the millisecond.
    let started_at = payload["execution_started_at"].as_str().unwrap();
    let started_at = chrono::DateTime::parse_from_rfc3339(started_at).unwrap();
    let described = d.start_date.to_millis().unwrap();
    assert!(
        (started_at.timestamp_millis() - described).abs() <= 1,
        "{started_at} vs {described} ms"
    );
}

#[test]
fn the_restart_payload_is_the_contract_with_the_restart_lambda() {
    let asl = asl();
    let restart = &asl["States"]["Restart"];
    assert_eq!(restart["Resource"], "arn:aws:states:::sqs:sendMessage.waitForTaskToken");
    let parameters = &restart["Parameters"];
    assert_eq!(sorted_keys(parameters), ["MessageBody", "QueueUrl"]);
    assert_eq!(parameters["QueueUrl"], "${restart_queue_url}");
    let body = &parameters["MessageBody"];
    assert_eq!(sorted_keys(body), ["restart", "task_token.$"]);
    assert_eq!(body["task_token.$"], "$$.Task.Token");
    let payload = &body["restart"];
    assert_eq!(
        payload,
        &json!({
            "flow_name.$": "$.flow_name",
            "execution_id.$": "$.execution_id",
            "decision.$": "$.decision",
            "execution_name.$": "$$.Execution.Name",
            "execution_started_at.$": "$$.Execution.StartTime",
        })
    );
    let keys: Vec<&str> = sorted_keys(payload).iter().map(|k| k.trim_end_matches(".$")).collect();
    assert_eq!(keys, RESTART_PAYLOAD_KEYS);
}

/// The restart Lambda's errors that a retry cannot fix.
const NON_RETRYABLE: [&str; 3] = ["AppFlowFailed", "InvalidInput", "RestartRefused"];

/// Errors that must be retried with a budget of tens of minutes: the restart
/// Lambda's transient errors, SQS refusing the restart message, and any
/// other error the restart Lambda names (States.TaskFailed).
const TRANSIENT: [&str; 7] = [
    "AppFlowUnavailable",
    "PolicyUnavailable",
    "DeadlineExceeded",
    "HistoryIncomplete",
    "SQS.SdkClientException",
    "SQS.AmazonSQSException",
    "States.TaskFailed",
];

/// How long one attempt may wait in the restart queue: 24 hours.
const RESTART_TIMEOUT_SECONDS: u64 = 86_400;

/// The names a retrier matches.
fn error_names(retrier: &Value) -> Vec<&str> {
    retrier["ErrorEquals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect()
}

/// The longest a retrier waits in all, in seconds: the sum of its nominal
/// waits (FULL jitter only shortens them).
fn worst_case_wait(retrier: &Value) -> f64 {
    let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
    let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
    let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::INFINITY);
    let attempts = retrier["MaxAttempts"].as_u64().unwrap_or(3);
    (0..attempts)
        .map(|k| (interval * rate.powi(i32::try_from(k).unwrap())).min(cap))
        .sum()
}

/// An attempt whose message is never read: Step Functions requires
/// HeartbeatSeconds below TimeoutSeconds, and the heartbeat clock runs from
/// the Task's start, so such an attempt fails with States.HeartbeatTimeout
/// (at HeartbeatSeconds), not States.Timeout. It must not be retried (a
/// retry is another day in the queue): a retrier listing it with
/// MaxAttempts 0 comes before any that could match it (States.TaskFailed).
#[test]
fn an_attempt_never_read_from_the_queue_times_out_on_its_heartbeat_and_is_not_retried() {
    let asl = asl();
    let restart = &asl["States"]["Restart"];
    let heartbeat = restart["HeartbeatSeconds"].as_u64().unwrap();
    assert!(heartbeat < RESTART_TIMEOUT_SECONDS, "Step Functions requires it");
    let retry = restart["Retry"].as_array().unwrap();
    let position = |name: &str| retry.iter().position(|r| error_names(r).contains(&name));
    let stop = position("States.HeartbeatTimeout")
        .unwrap_or_else(|| panic!("no retrier names States.HeartbeatTimeout: States.TaskFailed may retry it"));
    assert_eq!(retry[stop]["MaxAttempts"], 0, "{}", retry[stop]);
    assert!(stop < position("States.TaskFailed").unwrap(), "tried in order");
    let comment = restart["Comment"].as_str().unwrap();
    assert!(
        !comment.contains("is States.Timeout, not retried"),
        "the Comment names the wrong error: {comment}"
    );
}

#[test]
fn restart_retries_skip_what_cannot_succeed_and_last_tens_of_minutes_otherwise() {
    let asl = asl();
    let restart = &asl["States"]["Restart"];
    let retry = restart["Retry"].as_array().unwrap();

    // First, since States.TaskFailed (below) would match these too.
    let mut first = error_names(&retry[0]);
    first.sort_unstable();
    assert_eq!(first, NON_RETRYABLE);
    assert_eq!(retry[0]["MaxAttempts"], 0);

    let retrier_of = |name: &str| {
        retry
            .iter()
            .position(|r| error_names(r).contains(&name))
            .unwrap_or_else(|| panic!("no retrier for {name}"))
    };
    let throttled = &retry[retrier_of("AppFlowThrottled")];
    let transient = retrier_of("AppFlowUnavailable");
    for name in TRANSIENT {
        assert_eq!(
            retrier_of(name),
            transient,
            "{name} is retried apart from AppFlowUnavailable"
        );
    }
    assert_ne!(transient, 0);
    let transient = &retry[transient];

    let minutes = |seconds: f64| seconds / 60.0;
    for (what, retrier) in [("throttling", throttled), ("transient", transient)] {
        assert_eq!(retrier["JitterStrategy"], "FULL", "{what}");
        let wait = minutes(worst_case_wait(retrier));
        assert!((10.0..=60.0).contains(&wait), "{what}: {wait} minutes of retries");
    }

    // One attempt waits in the restart queue at most a day (a backlog of
    // thousands read at a few a minute); an attempt no one answered in that
    // time is not retried: no retrier lists States.Timeout (States.TaskFailed
    // does not match it), so it goes to the Catch and is told as unknown (an
    // attempt never read ends on its heartbeat first: the test above).
    assert_eq!(restart["TimeoutSeconds"], RESTART_TIMEOUT_SECONDS);
    for retrier in retry {
        assert!(
            !error_names(retrier).contains(&"States.Timeout"),
            "States.Timeout is retried: {retrier}"
        );
        assert!(!error_names(retrier).contains(&"States.ALL"), "{retrier}");
    }

    // What the Comment states.
    let comment = restart["Comment"].as_str().unwrap();
    for stated in [
        format!(
            "{} s ({} min) of waiting per retrier",
            worst_case_wait(transient),
            minutes(worst_case_wait(transient))
        ),
        format!("TimeoutSeconds, {} hours", RESTART_TIMEOUT_SECONDS / 3600),
        "States.HeartbeatTimeout, and one read but not answered by TimeoutSeconds is States.Timeout; neither is retried".to_owned(),
    ] {
        assert!(
            comment.contains(&stated),
            "the Comment does not say {stated:?}: {comment}"
        );
    }

    // What no retrier fixes is caught and notified.
    let catch = &restart["Catch"][0];
    assert_eq!(catch["ErrorEquals"], json!(["States.ALL"]));
    assert_eq!(catch["Next"], "RestartFailedRoute");
    let route = &asl["States"]["RestartFailedRoute"];
    assert_eq!(route["Default"], "NotifyRestartFailed");
    assert_eq!(route["Choices"][1]["Next"], "NotifyReactivateFailed");
    assert_eq!(catch["ResultPath"], "$.error");
    // A refused input (not on-failure's) has its own message, then fails as before; the
    // errors a retry cannot fix for another reason (AppFlowFailed) keep the UNKNOWN one.
    let refused = &route["Choices"][0];
    assert_eq!(refused["Next"], "NotifyInputRefused");
    assert_eq!(
        refused["Or"],
        json!([
            {"Variable": "$.error.Error", "StringEquals": "RestartRefused"},
            {"Variable": "$.error.Error", "StringEquals": "InvalidInput"}
        ])
    );
    assert_eq!(asl["States"]["NotifyInputRefused"]["Next"], "RestartFailed");
}

#[tokio::test]
async fn a_refused_input_says_nothing_was_started_and_not_to_rerun_by_hand() {
    // Both names the restart Lambda refuses an input with.
    for (name, input, id, error) in [
        (
            "refused-retry",
            machine_input("retry", Some(0), false, &[]),
            "9aa00099-9943-449a-9c7a-488dbc801242",
            "RestartRefused",
        ),
        (
            "refused-reactivate",
            deactivation_input("reactivate", Some(0), false, &[]),
            "deactivated-",
            "InvalidInput",
        ),
    ] {
        let w = World::new().await;
        let cause = "the execution started before the failed run ended";
        let (d, _) = w.run_answering(name, &input, vec![error_of(error, cause)]).await;
        assert_eq!(d.status, ExecutionStatus::Failed, "{name}");
        assert_eq!(d.error.as_deref(), Some("RestartFailed"), "{name}");
        assert_eq!(w.states_entered(&d.execution_arn).await, REFUSED, "{name}");
        assert_eq!(attempts(&w, &d.execution_arn, "Restart").await, 1, "{name}");
        let messages = w.notifications().await;
        assert_eq!(messages.len(), 1, "{name}: {messages:?}");
        let message = &messages[0];
        for expected in [
            "REFUSED the input of execution ",
            id,
            "it is not a decision on-failure made",
            "Nothing was started: no restart, no re-activation.",
            "Do NOT re-run or re-activate the flow by hand",
            "Check who started execution ",
            &format!("Error: {error}. Details: {{\"Error\":\"{error}\""),
        ] {
            assert!(message.contains(expected), "{name}: no {expected:?} in:\n{message}");
        }
        assert!(shows_cause(message, cause), "{name}: {message}");
        let who = format!("Check who started execution {name} of the retry state machine");
        assert!(message.contains(&who), "{name}: no {who:?} in:\n{message}");
        assert!(!message.contains("UNKNOWN"), "{name}: {message}");
        assert!(!message.contains("{}"), "{name}: {message}");
    }
}

/// A deactivation decision as on-failure puts it in the input.
fn deactivation_input(action: &str, delay: Option<u64>, notify: bool, notify_on: &[&str]) -> Value {
    let mut input = machine_input(action, delay, notify, notify_on);
    input["execution_id"] = json!("deactivated-20261129T090621Z");
    input["decision"]["execution_id"] = json!("deactivated-20261129T090621Z");
    input["error_message"] = json!("deactivated after 3 consecutive failures");
    input
}

#[tokio::test]
async fn reactivate_waits_reactivates_and_says_reactivate() {
    let w = World::new().await;
    let answer = output_of(
        json!({"outcome": "reactivated", "new_execution_id": null, "reason": "re-activation 1 of 3 after 0s: StartFlow accepted, DescribeFlow now reports Active", "notify": true, "flow_status": "Active"}),
    );
    let (d, _) = w
        .run_answering(
            "reactivate-notify",
            &deactivation_input("reactivate", Some(0), true, &["reactivate"]),
            vec![answer],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        [
            "Route",
            "NotifyReactivate",
            "WaitBackoff",
            "Restart",
            "AfterRestart",
            "NotifyReactivateOutcome",
            "Done"
        ]
    );
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("will re-activate it in 0 seconds: re-activation 2 of 3")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m
            .contains("re-activation after deactivation deactivated-20261129T090621Z reactivated")
            && m.contains("now reports Active")),
        "{messages:?}"
    );
    assert!(messages.iter().all(|m| !m.contains("restart ")), "{messages:?}");

    // Quiet: no notification on either side.
    let answer = output_of(json!({"outcome": "reactivated", "new_execution_id": null, "reason": "r", "notify": false}));
    let (d, _) = w
        .run_answering(
            "reactivate-quiet",
            &deactivation_input("reactivate", Some(0), false, &[]),
            vec![answer],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        ["Route", "WaitBackoff", "Restart", "AfterRestart", "Done"]
    );
    assert_eq!(w.notifications().await.len(), 0);
}

#[tokio::test]
async fn a_deactivation_that_stays_says_so() {
    let w = World::new().await;
    let d = w
        .run_execution("not-reactivated", &deactivation_input("give_up", None, true, &[]))
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        ["Route", "NotifyNotReactivated", "Done"]
    );
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("will NOT re-activate it: give_up. test reason"),
        "{}",
        messages[0]
    );
    assert!(
        messages[0].contains("aws appflow start-flow --flow-name sf-accounts"),
        "{}",
        messages[0]
    );
}

#[tokio::test]
async fn a_failed_reactivation_step_says_reactivation() {
    let w = World::new().await;
    let (d, _) = w
        .run_answering(
            "reactivate-refused",
            &deactivation_input("reactivate", Some(0), false, &[]),
            vec![error_of("AppFlowFailed", APPFLOW_FAILED_CAUSE)],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        [
            "Route",
            "WaitBackoff",
            "Restart",
            "RestartFailedRoute",
            "NotifyReactivateFailed",
            "RestartFailed"
        ]
    );
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    for expected in ["could not confirm the re-activation", "Last error: AppFlowFailed."] {
        assert!(messages[0].contains(expected), "no {expected:?} in:\n{}", messages[0]);
    }
    assert!(shows_cause(&messages[0], APPFLOW_FAILED_CAUSE), "{}", messages[0]);
}

/// A `recovered` decision as on-failure puts it in the input (named after the successful run).
fn recovered_input(notify: bool) -> Value {
    let mut input = machine_input("recovered", None, notify, &["give_up", "recovered"]);
    input["execution_id"] = json!("run-ok");
    input["error_message"] = json!("");
    let d = &mut input["decision"];
    d["execution_id"] = json!("run-ok");
    d["error_class"] = Value::Null;
    d["failed_run_started_at"] = json!("2026-11-29T07:00:00Z");
    d["reason"] = json!("sf-accounts recovered after 2 restarts; down 2 h 6 min (failure streak of 3 runs)");
    input
}

#[tokio::test]
async fn recovered_is_told_once_and_never_restarts() {
    let w = World::new().await;
    let d = w.run_execution("recovered", &recovered_input(true)).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    assert_eq!(
        w.states_entered(&d.execution_arn).await,
        ["Route", "NotifyRecovered", "Done"]
    );
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with("sf-accounts recovered after 2 restarts; down 2 h 6 min"),
        "{}",
        messages[0]
    );
    assert!(
        messages[0]
            .contains("run run-ok succeeded and ended a failure streak of 2 runs that began 2026-11-29T07:00:00Z"),
        "{}",
        messages[0]
    );
    assert!(!messages[0].contains("NOT be restarted"), "{}", messages[0]);

    // Not notified (never started by on-failure, but a hand-made input must
    // not reach the no-restart notification or the restart either).
    let d = w.run_execution("recovered-quiet", &recovered_input(false)).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(w.states_entered(&d.execution_arn).await, ["Route", "Done"]);
    assert!(w.notifications().await.is_empty());
}

/// A forged quiet retry (notify false, nothing in notify_on) whose restart
/// re-decides and disagrees: the restart's `skipped` with `notify: true` is
/// what the state machine routes on, so a person is told, with both answers.
#[tokio::test]
async fn a_disagreeing_re_decision_is_told_even_for_a_quiet_decision() {
    let w = World::new().await;
    let reason = "on-failure's input says retry 2/3 after 1s; re-decided for the execution's start 2026-11-29T09:06:47Z: skip (error class auth is in skip_errors: a restart would fail the same way)";
    let answer = output_of(json!({"outcome": "skipped", "new_execution_id": null, "reason": reason, "notify": true}));
    let (d, _) = w
        .run_answering(
            "forged-quiet-retry",
            &machine_input("retry", Some(1), false, &[]),
            vec![answer],
        )
        .await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    let states = w.states_entered(&d.execution_arn).await;
    assert_eq!(
        states,
        [
            "Route",
            "WaitBackoff",
            "Restart",
            "AfterRestart",
            "NotifyRestartOutcome",
            "Done"
        ]
    );
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains(" skipped. "), "{messages:?}");
    assert!(messages[0].contains(reason), "{messages:?}");
}

/// A pending restart cancelled (StopExecution, as `appflow-retry cancel`
/// does) while its message waits in the restart queue: the token in the
/// message can no longer be answered, so the heartbeat the restart Lambda
/// sends before anything else fails, and it starts nothing
/// (crates/runtime/src/restart_queue.rs).
///
/// Ignored: moto 5.2.5 does not behave so. An execution stopped while its
/// Task waits for a token stays RUNNING there, its token answerable
/// (SendTaskSuccess accepted), until the Task is answered; the test fails at
/// the ABORTED check. (The heartbeat of a live token, checked first, passes
/// since the Task declares HeartbeatSeconds: moto refuses heartbeats of a
/// Task without it.) Run it with `--ignored` against an emulator that stops
/// waiting executions as Step Functions does.
#[tokio::test]
#[ignore = "moto 5.2.5 keeps an execution stopped during a waitForTaskToken Task running, its token answerable"]
async fn a_cancelled_execution_leaves_its_queued_restart_unanswerable() {
    use aws_sdk_sqs::types::QueueAttributeName;
    use std::time::Duration;

    let w = World::new().await;
    let queue = appflow_retry_testkit::service::RESTART_QUEUE_URL;
    let arn = w
        .sfn
        .start_execution()
        .state_machine_arn(&w.state_machine_arn)
        .name("cancelled-in-queue")
        .input(machine_input("retry", Some(0), false, &[]).to_string())
        .send()
        .await
        .unwrap()
        .execution_arn;
    // Its restart is queued: the execution waits in Restart for an answer.
    let mut queued = false;
    for _ in 0..200 {
        let attributes = w
            .sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        if attributes
            .get(&QueueAttributeName::ApproximateNumberOfMessages)
            .is_some_and(|n| n != "0")
        {
            queued = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(queued, "no restart message came");
    let d = w.sfn.describe_execution().execution_arn(&arn).send().await.unwrap();
    assert_eq!(d.status, ExecutionStatus::Running);
    assert_eq!(w.states_entered(&arn).await.last().map(String::as_str), Some("Restart"));
    // While the execution waits, its token takes a heartbeat: the refusal
    // below is the cancellation's doing.
    let token = |body: &str| -> String {
        let body: Value = serde_json::from_str(body).unwrap();
        body["task_token"].as_str().unwrap().to_owned()
    };
    let peeked = w
        .sqs
        .receive_message()
        .queue_url(queue)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    let live = token(peeked[0].body().unwrap());
    w.sfn
        .send_task_heartbeat()
        .task_token(&live)
        .send()
        .await
        .map_err(aws_sdk_sfn::error::DisplayErrorContext)
        .expect("a heartbeat for a waiting execution's token");

    w.sfn
        .stop_execution()
        .execution_arn(&arn)
        .cause("source maintenance")
        .send()
        .await
        .unwrap();
    // moto marks the execution ABORTED a moment after StopExecution.
    let mut status = ExecutionStatus::Running;
    for _ in 0..200 {
        status = w
            .sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap()
            .status;
        if status != ExecutionStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, ExecutionStatus::Aborted);

    // The restart Lambda reads the message later, and its heartbeat is refused.
    let message = w
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("the restart message stays queued");
    let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(body["restart"]["execution_name"], "cancelled-in-queue");
    let token = body["task_token"].as_str().unwrap();
    let err = w
        .sfn
        .send_task_heartbeat()
        .task_token(token)
        .send()
        .await
        .expect_err("a heartbeat for a cancelled execution's token");
    let code = err.as_service_error().and_then(|e| e.meta().code()).map(str::to_owned);
    assert!(
        matches!(
            code.as_deref(),
            Some("TaskTimedOut" | "InvalidToken" | "TaskDoesNotExist")
        ),
        "{code:?}: {}",
        aws_sdk_sfn::error::DisplayErrorContext(&err)
    );
    // Nor can it be answered.
    assert!(
        w.sfn
            .send_task_success()
            .task_token(token)
            .output(r#"{"outcome": "restarted"}"#)
            .send()
            .await
            .is_err()
    );
    assert!(w.notifications().await.is_empty());
}
