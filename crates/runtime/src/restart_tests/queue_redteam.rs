//! Red-team cases of the restart queue (docs/design.md §5.12): forged and
//! odd message bodies, Step Functions' limits on the answer, duplicates,
//! and the pace of messages that restart nothing.

use serde_json::{Value, json};

use super::queue::{TOKEN, due, message};
use super::{NIGHTLY, TIMEOUT, World, block, forged_reactivation, started_at, stopped_world};
use crate::fakes::Tasks;
use crate::ports::PortError;
use crate::{BatchMessage, Handled};
use appflow_retry_policy::RunStatus;
use appflow_retry_policy::naming::client_token;

/// Step Functions' limit on SendTaskSuccess's `output` (256 KiB of UTF-8),
/// stated here apart from the code it checks.
const MAX_OUTPUT_BYTES: usize = 262_144;
/// SendTaskFailure's `cause`: 32,768, counted here in the strictest unit (bytes).
const MAX_CAUSE: usize = 32_768;

fn answers(tasks: &Tasks) -> Vec<(String, crate::fakes::TaskAnswer)> {
    tasks.answers.lock().unwrap().clone()
}

#[test]
fn redteam_queue_a_long_cause_of_wide_characters_fits_send_task_failure() {
    // serde's error quotes the offending string: a `restart` of 20,000
    // emoji is a cause of about 20,000 characters but 40,000 UTF-16 units
    // and 80,000 bytes. Truncated by characters it passes 32,768 in the
    // units AWS may count; SendTaskFailure then refuses it (a validation
    // error, not retryable), the message is kept and the restart redone
    // every visibility timeout until the task times out a day later.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let tasks = Tasks::waiting(&[TOKEN]);
    let wide = "😀".repeat(20_000);
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m1", TOKEN, &json!(wide))], || false, None),
    );
    assert!(reply.failures.is_empty(), "{reply:?}");
    let (error, cause) = answers(&tasks)[0].1.clone().unwrap_err();
    assert_eq!(error, "InvalidInput");
    assert!(
        cause.len() <= MAX_CAUSE && cause.encode_utf16().count() <= MAX_CAUSE,
        "cause of {} chars, {} UTF-16 units, {} bytes",
        cause.chars().count(),
        cause.encode_utf16().count(),
        cause.len()
    );
}

#[test]
fn redteam_queue_a_forged_reactivation_cannot_make_the_output_too_big_to_send() {
    // A holder of states:StartExecution (or of a token and SendMessage)
    // names a deactivation with an id of 35,000 zero-width spaces: the body
    // (the id twice, 3 bytes a character) is 210 KB, within SQS's limit. The
    // skip's reason quotes the id with {:?} (`\u{200b}`, 9 bytes in JSON):
    // the output would be 315 KB, over SendTaskSuccess's 256 KiB, refused
    // (not retryable), the message kept and redone until the task times out.
    let w = stopped_world(super::hourly(RunStatus::Error, 3, Some(TIMEOUT)));
    let id = "\u{200b}".repeat(35_000);
    let input = forged_reactivation(&id, super::deactivated_at(), 1, started_at());
    let m = message("m1", TOKEN, &input);
    assert!(m.body.len() < MAX_OUTPUT_BYTES, "{}", m.body.len());
    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    let reply = block(w.restart().handle_queued(&tasks, vec![m], || false, None));
    assert!(reply.failures.is_empty(), "{reply:?}");
    let output = answers(&tasks)[0].1.clone().unwrap();
    assert!(output.len() <= MAX_OUTPUT_BYTES, "output of {} bytes", output.len());
    let output: Value = serde_json::from_str(&output).unwrap();
    assert_eq!(output["outcome"], "skipped", "{:.200}", output.to_string());
    assert!(w.started().is_empty());
    let _ = NIGHTLY;
}

#[test]
fn redteam_queue_a_lone_surrogate_in_the_payload_is_answered_not_dropped() {
    // `\ud800` is valid JSON text (Step Functions and SQS carry it) but not
    // a Rust string: the whole body fails to parse, the message is deleted
    // unanswered although its token is readable, and the execution waits
    // a day to be told "state UNKNOWN, StartFlow may have been accepted"
    // for a restart that never ran. Expected: InvalidInput, at once.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let tasks = Tasks::waiting(&[TOKEN]);
    let body = format!(r#"{{"task_token": "{TOKEN}", "restart": {{"flow_name": "\ud800"}}}}"#);
    let handled = block(w.restart().handle_message(&tasks, &body, None));
    assert_eq!(handled, Handled::Answered, "{handled:?}");
    let (error, _) = answers(&tasks)[0].1.clone().unwrap_err();
    assert_eq!(error, "InvalidInput");
    assert!(w.started().is_empty());
}

#[test]
fn redteam_queue_a_token_of_2048_characters_is_used() {
    // Step Functions' limit; one of 2049 is deleted unanswered (queue.rs).
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    let long = "t".repeat(2048);
    let tasks = Tasks::waiting(&[&long]).running(&input);
    let handled = block(
        w.restart()
            .handle_message(&tasks, &message("m", &long, &input).body, None),
    );
    assert_eq!(handled, Handled::Answered);
    assert_eq!(w.started().len(), 1);
}

#[test]
fn redteam_queue_only_a_message_that_reached_the_restart_costs_the_pace() {
    // The pace keeps StartFlow calls apart. A message deleted unread (no
    // token, a cancelled or timed-out execution) or kept at its heartbeat
    // starts nothing: were it paced, anyone with sqs:SendMessage could
    // stall every restart P per junk message per slot (1,000 junk messages:
    // 18 minutes at the default rate), and a backlog of cancelled
    // executions would delay the live ones just as much.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    let tasks = Tasks::waiting(&[]);
    let junk = BatchMessage {
        message_id: "junk".into(),
        body: "{}".into(),
    };
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![junk, message("gone", TOKEN, &input)], || false, None),
    );
    assert!(reply.failures.is_empty());
    assert_eq!(reply.restarts, 0, "nothing reached the restart");

    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    *tasks.fail_heartbeat.lock().unwrap() = Some(PortError::Throttled("ThrottlingException".into()));
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m", TOKEN, &input)], || false, None),
    );
    assert_eq!((reply.failures.len(), reply.restarts), (1, 0));

    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m", TOKEN, &input)], || false, None),
    );
    assert_eq!(reply.restarts, 1);
    assert_eq!(w.started().len(), 1);
}

#[test]
fn redteam_queue_a_message_delivered_twice_at_once_is_answered_once_and_starts_one_run() {
    // SQS delivers at least once: two slots run the same message. Both
    // heartbeats pass and both call StartFlow, with the same client token:
    // AppFlow starts one run for a token (8 hours). One answer is taken;
    // the other finds the token answered and its copy is deleted.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    let body = message("m", TOKEN, &input).body;
    let restart = w.restart();
    let (a, b) = block(async {
        tokio::join!(
            restart.handle_message(&tasks, &body, None),
            restart.handle_message(&tasks, &body, None)
        )
    });
    let mut outcomes = [format!("{a:?}"), format!("{b:?}")];
    outcomes.sort();
    assert_eq!(outcomes[0], "Answered", "{outcomes:?}");
    assert!(outcomes[1].starts_with("Dropped"), "{outcomes:?}");
    assert_eq!(answers(&tasks).len(), 1);
    let tokens: Vec<_> = w.started().into_iter().map(|(_, t)| t).collect();
    assert!(
        !tokens.is_empty() && tokens.iter().all(|t| *t == client_token(super::FAILED)),
        "{tokens:?}"
    );
}

#[test]
fn redteam_queue_a_lost_answer_retried_before_the_run_shows_repeats_start_flow_with_the_same_token() {
    // SendTaskSuccess fails after StartFlow; the message comes back before
    // the new run is in the history. The re-check finds no run, so
    // StartFlow is called again: only the client token (same token, AWS
    // keeps it 8 hours, the message comes back every 12 minutes for at
    // most 24 hours) keeps the flow from running twice.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    *tasks.fail_answer.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let body = message("m", TOKEN, &input).body;
    let first = block(w.restart().handle_message(&tasks, &body, None));
    assert!(matches!(first, Handled::Kept(_)), "{first:?}");
    *tasks.fail_answer.lock().unwrap() = None;
    let second = block(w.restart().handle_message(&tasks, &body, None));
    assert_eq!(second, Handled::Answered);
    let started = w.started();
    assert_eq!(started.len(), 2, "{started:?}");
    assert_eq!(started[0], started[1], "the same client token both times");
}

#[test]
#[ignore = "red team: a re-activation whose answer was lost is reported skipped on its retry (not fixed: needs the retry to recognise its own re-activation)"]
fn redteam_queue_a_reactivation_whose_answer_was_lost_is_reported_reactivated_on_retry() {
    let w = stopped_world(super::hourly(RunStatus::Error, 3, Some(TIMEOUT)));
    let out = block(w.on_failure().handle(&super::nightly_deactivated())).unwrap();
    let input = super::input_for(&serde_json::to_value(&out.decision).unwrap(), started_at());
    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    *tasks.fail_answer.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let body = message("m", TOKEN, &input).body;
    assert!(matches!(
        block(w.restart().handle_message(&tasks, &body, None)),
        Handled::Kept(_)
    ));
    *tasks.fail_answer.lock().unwrap() = None;
    assert_eq!(
        block(w.restart().handle_message(&tasks, &body, None)),
        Handled::Answered
    );
    let output: Value = serde_json::from_str(answers(&tasks)[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(output["outcome"], "reactivated", "{output}");
}

#[test]
#[ignore = "red team: a task token is not bound to its payload (not fixed: needs the token's execution, e.g. from its TaskScheduled event)"]
fn redteam_queue_a_token_sent_with_another_executions_payload_is_not_answered_with_it() {
    // The token of execution X (readable in X's TaskScheduled event by
    // anyone with states:GetExecutionHistory) sent by a holder of
    // sqs:SendMessage with the real payload of execution Y: X is answered
    // "restarted" with Y's run, and X's own message then finds its token
    // answered and is deleted: X's flow is never restarted, yet reported so.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let payload_of_y = due(&w);
    let token_of_x = "token-of-another-execution";
    let tasks = Tasks::waiting(&[token_of_x]).running(&payload_of_y);
    let handled = block(
        w.restart()
            .handle_message(&tasks, &message("m", token_of_x, &payload_of_y).body, None),
    );
    let told = answers(&tasks);
    assert!(
        told.iter()
            .all(|(_, a)| a.as_ref().map_or(true, |o| !o.contains("restarted"))),
        "{handled:?}: X was told {told:?}"
    );
}
