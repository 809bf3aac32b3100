//! statemachines/retry.asl.json executed by moto's Step Functions
//! interpreter, each route, with canned restart Lambda results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_sfn::types::ExecutionStatus;
use common::{World, machine_input};
use serde_json::json;

#[tokio::test]
async fn retry_waits_restarts_and_notifies_both_steps() {
    let w = World::new().await;
    w.moto
        .queue_lambda_results(&[json!({"outcome": "restarted", "new_execution_id": "run-2", "reason": "restart 2 of 3 after 0s", "notify": true})])
        .unwrap();
    let d = w
        .run_execution("retry-notify", &machine_input("retry", Some(0), true, &["retry"]))
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
            "NotifyRestartOutcome"
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
    w.moto
        .queue_lambda_results(&[
            json!({"outcome": "restarted", "new_execution_id": "run-2", "reason": "r", "notify": false}),
        ])
        .unwrap();
    let d = w
        .run_execution("retry-quiet", &machine_input("retry", Some(1), false, &["give_up"]))
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
    assert_eq!(w.states_entered(&d.execution_arn).await, ["Route", "NotifyNoRestart"]);
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
async fn a_failing_restart_is_caught_notified_and_fails_the_execution() {
    let w = World::new().await;
    // moto's Lambda stand-in fails an invocation whose result is over 6 MB
    // (Function.ResponseSizeTooLarge): an error no Retry matches, so Catch takes it.
    w.moto.queue_lambda_results(&[json!("x".repeat(6_100_000))]).unwrap();
    let d = w
        .run_execution("restart-fails", &machine_input("retry", Some(0), false, &[]))
        .await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("RestartFailed"));
    let states = w.states_entered(&d.execution_arn).await;
    assert_eq!(
        states,
        [
            "Route",
            "WaitBackoff",
            "Restart",
            "NotifyRestartFailed",
            "RestartFailed"
        ]
    );
    let messages = w.notifications().await;
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("could not restart failed run 9aa00099"),
        "{}",
        messages[0]
    );
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
    assert_eq!(placeholders, ["restart_function_arn", "topic_arn"]);
}
