//! The restart queue (docs/design.md §5.12): a message is a task token and
//! the Restart payload; nothing starts unless the execution still waits, and
//! the execution always gets the restart's answer or its error's name.

use std::time::Duration;

use appflow_retry_policy::RunStatus;
use appflow_retry_policy::naming::client_token;
use chrono::TimeDelta;
use serde_json::{Value, json};

use super::{AUTH, FAILED, FLOW, TIMEOUT, World, block, forged_retry, real_input};
use crate::fakes::{Tasks, record};
use crate::ports::{Clock, PortError};
use crate::{BatchMessage, Handled, RestartPace};

pub(super) const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAAAAAAR-token";

pub(super) fn message(id: &str, token: &str, restart: &Value) -> BatchMessage {
    BatchMessage {
        message_id: id.to_owned(),
        body: json!({"task_token": token, "restart": restart}).to_string(),
    }
}

/// A real decision's payload, with the clock at the end of its wait.
pub(super) fn due(w: &World) -> Value {
    let input = real_input(w, TIMEOUT);
    w.clock
        .advance(TimeDelta::seconds(input["decision"]["delay_seconds"].as_i64().unwrap()));
    input
}

/// A real decision's payload at the end of its wait, and its execution
/// running and waiting for [`TOKEN`].
fn due_and_waiting() -> (World, Value, Tasks) {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    (w, input, tasks)
}

fn kept(reply: &crate::BatchReply) -> Vec<&str> {
    reply.failures.iter().map(|f| f.item_identifier.as_str()).collect()
}

#[test]
fn a_queued_restart_is_done_once_and_its_output_answers_the_execution() {
    let (w, input, tasks) = due_and_waiting();
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m1", TOKEN, &input)], || false, None),
    );
    assert!(kept(&reply).is_empty(), "{reply:?}");
    assert_eq!(w.started(), vec![(FLOW.to_owned(), client_token(FAILED))]);
    let answers = tasks.answers.lock().unwrap().clone();
    assert_eq!(answers.len(), 1, "{answers:?}");
    let output: Value = serde_json::from_str(answers[0].1.as_ref().unwrap()).unwrap();
    // The same output a direct invocation returns: the state machine's
    // ResultSelector reads these fields.
    assert_eq!(output["outcome"], "restarted", "{output}");
    assert!(output["new_execution_id"].is_string(), "{output}");
    for field in ["reason", "notify"] {
        assert!(output.get(field).is_some(), "{field} in {output}");
    }
    assert_eq!(*tasks.heartbeats.lock().unwrap(), vec![TOKEN.to_owned()]);
}

#[test]
fn nothing_starts_for_an_execution_that_no_longer_waits() {
    // Cancelled (StopExecution), timed out, or already answered: the
    // heartbeat says so, and the message is deleted with nothing started.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    let tasks = Tasks::waiting(&[]);
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m1", TOKEN, &input)], || false, None),
    );
    assert!(kept(&reply).is_empty(), "deleted, not kept: {reply:?}");
    assert!(w.started().is_empty());
    assert!(tasks.answers.lock().unwrap().is_empty());
}

#[test]
fn a_failed_heartbeat_starts_nothing_and_keeps_the_message() {
    for e in [
        PortError::Throttled("ThrottlingException".into()),
        PortError::Unavailable("503".into()),
        PortError::Failed("AccessDeniedException: not authorized to perform states:SendTaskHeartbeat".into()),
    ] {
        let (w, input, tasks) = due_and_waiting();
        *tasks.fail_heartbeat.lock().unwrap() = Some(e.clone());
        let reply = block(
            w.restart()
                .handle_queued(&tasks, vec![message("m1", TOKEN, &input)], || false, None),
        );
        assert_eq!(kept(&reply), vec!["m1"], "{e}");
        assert!(w.started().is_empty(), "{e}: fail closed");
    }
}

#[test]
fn a_restart_error_is_sent_by_its_stable_name() {
    // AppFlow throttles StartFlow: the execution's Retry matches AppFlowThrottled.
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    *w.flows.fail.lock().unwrap() = Some(PortError::Throttled("ServiceQuotaExceededException".into()));
    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m1", TOKEN, &input)], || false, None),
    );
    assert!(kept(&reply).is_empty(), "answered, so deleted: {reply:?}");
    let answers = tasks.answers.lock().unwrap().clone();
    let (error, cause) = answers[0].1.clone().unwrap_err();
    assert_eq!(error, "AppFlowThrottled");
    assert!(cause.contains("ServiceQuotaExceededException"), "{cause}");

    // A forged payload (a restart the rules refuse) is answered too: skipped and told.
    let w = World::failed_with(Some(AUTH), vec![]);
    let forged = forged_retry(120, 1);
    let tasks = Tasks::waiting(&[TOKEN]).running(&forged);
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m2", TOKEN, &forged)], || false, None),
    );
    assert!(kept(&reply).is_empty());
    let answers = tasks.answers.lock().unwrap().clone();
    let output: Value = serde_json::from_str(answers[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(
        (output["outcome"].as_str(), output["notify"].as_bool()),
        (Some("skipped"), Some(true))
    );
    assert!(w.started().is_empty());
}

#[test]
fn a_message_with_a_token_but_no_usable_input_fails_the_task_as_invalid_input() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    for (i, body) in [
        json!({"task_token": TOKEN}),
        json!({"task_token": TOKEN, "restart": {"flow_name": FLOW}}),
        json!({"task_token": TOKEN, "restart": "restart it"}),
    ]
    .into_iter()
    .enumerate()
    {
        let tasks = Tasks::waiting(&[TOKEN]);
        let m = BatchMessage {
            message_id: format!("m{i}"),
            body: body.to_string(),
        };
        let reply = block(w.restart().handle_queued(&tasks, vec![m], || false, None));
        assert!(kept(&reply).is_empty(), "{body}");
        let answers = tasks.answers.lock().unwrap().clone();
        assert_eq!(answers[0].1.clone().unwrap_err().0, "InvalidInput", "{body}");
    }
    assert!(w.started().is_empty());
}

#[test]
fn a_message_without_a_task_token_is_deleted_unanswered() {
    let (w, input, tasks) = due_and_waiting();
    for body in [
        "not json".to_owned(),
        json!({"restart": input}).to_string(),
        json!({"task_token": "", "restart": input}).to_string(),
        json!({"task_token": 7, "restart": input}).to_string(),
        json!({"task_token": "t".repeat(2049), "restart": input}).to_string(),
    ] {
        let handled = block(w.restart().handle_message(&tasks, &body, None));
        assert!(matches!(handled, Handled::Dropped(_)), "{body:.60}: {handled:?}");
    }
    assert!(w.started().is_empty(), "no token, no restart");
    assert!(tasks.heartbeats.lock().unwrap().is_empty());
}

#[test]
fn an_answer_that_cannot_be_sent_keeps_the_message_and_the_retry_finds_its_own_run() {
    let (w, input, tasks) = due_and_waiting();
    *tasks.fail_answer.lock().unwrap() = Some(PortError::Throttled("ThrottlingException".into()));
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m1", TOKEN, &input)], || false, None),
    );
    assert_eq!(kept(&reply), vec!["m1"]);
    assert_eq!(w.started().len(), 1);

    // The message comes back: the run StartFlow began is the restart's own
    // (a newer run of the flow), so nothing starts twice; the answer goes out.
    let mut new_run = record("new-1", RunStatus::InProgress, w.clock.now());
    new_run.last_updated_at = None;
    w.flows
        .flows
        .lock()
        .unwrap()
        .get_mut(FLOW)
        .unwrap()
        .1
        .insert(0, new_run);
    *tasks.fail_answer.lock().unwrap() = None;
    let reply = block(
        w.restart()
            .handle_queued(&tasks, vec![message("m1", TOKEN, &input)], || false, None),
    );
    assert!(kept(&reply).is_empty(), "{reply:?}");
    let answers = tasks.answers.lock().unwrap().clone();
    let output: Value = serde_json::from_str(answers[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(output["outcome"], "restarted", "{output}");
    assert_eq!(output["new_execution_id"], "new-1", "{output}");
    assert_eq!(w.started().len(), 1, "StartFlow once: {:?}", w.started());
}

#[test]
fn a_cancel_during_the_restart_is_not_an_error() {
    let (w, input, tasks) = due_and_waiting();
    *tasks.cancel_after_heartbeat.lock().unwrap() = true;
    let handled = block(
        w.restart()
            .handle_message(&tasks, &message("m1", TOKEN, &input).body, None),
    );
    assert!(
        matches!(handled, Handled::Dropped(ref why) if why.contains("stopped waiting")),
        "{handled:?}"
    );
}

#[test]
fn no_message_starts_after_the_stop() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    let tasks = Tasks::waiting(&[TOKEN, "second"]).running(&input);
    let calls = std::cell::Cell::new(0);
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() > 1
    };
    let reply = block(w.restart().handle_queued(
        &tasks,
        vec![message("m1", TOKEN, &input), message("m2", "second", &input)],
        stop,
        None,
    ));
    assert_eq!(kept(&reply), vec!["m2"]);
    assert_eq!(*tasks.heartbeats.lock().unwrap(), vec![TOKEN.to_owned()]);
}

#[test]
fn a_restart_past_the_deadline_is_answered_as_deadline_exceeded() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    *w.flows.hang_start.lock().unwrap() = true;
    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    // A hung StartFlow: only the deadline can end it (the test waits 50 ms).
    let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
    let reply = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(
            w.restart()
                .handle_queued(&tasks, vec![message("m1", TOKEN, &input)], || false, Some(deadline)),
        );
    assert!(kept(&reply).is_empty(), "answered: {reply:?}");
    let answers = tasks.answers.lock().unwrap().clone();
    assert_eq!(answers[0].1.clone().unwrap_err().0, "DeadlineExceeded");
}

#[test]
fn the_pace_is_kept_but_never_past_the_time_left() {
    let pace = RestartPace {
        pace: Duration::from_millis(5_455),
    };
    let s = Duration::from_millis;
    assert_eq!(pace.rest(s(60_000)), s(5_455));
    assert_eq!(pace.rest(s(1_000)), s(1_000), "never past the deadline");
}

#[test]
fn the_rate_gives_slots_and_a_pace_that_keep_any_minute_within_it() {
    // The same numbers terraform/modules/service/tests hold Terraform's locals to.
    let table = [
        (4, 2, 60_000),
        (10, 2, 15_000),
        (60, 5, 5_455),
        (600, 50, 5_455),
        (6_000, 500, 5_455),
    ];
    for (rate, slots, pace_ms) in table {
        let (c, pace) = RestartPace::for_rate(rate).unwrap();
        assert_eq!((c, pace.pace), (slots, Duration::from_millis(pace_ms)), "rate {rate}");
    }
    for rate in crate::restart_queue::MIN_RESTART_RATE..=crate::restart_queue::MAX_RESTART_RATE {
        let (c, pace) = RestartPace::for_rate(rate).unwrap();
        let p = u64::try_from(pace.pace.as_millis()).unwrap();
        // The most StartFlow calls one slot can make in any 60 s: one at the
        // window's start, then one every P.
        let per_slot = 60_000 / p + 1;
        assert!(c * per_slot <= rate, "rate {rate}: {c} slots × {per_slot} > {rate}");
        assert!(p <= 60_000, "rate {rate}: pace {p} ms");
    }
    assert_eq!(RestartPace::for_rate(3), None);
    assert_eq!(RestartPace::for_rate(6_001), None);
}

#[test]
fn the_start_time_is_the_executions_not_the_messages() {
    // A message written by hand with a start time that would move the
    // re-decision (a day later: the streak's window has passed): the
    // execution's own start time is used, and the restart goes ahead as its
    // real decision says.
    let (w, input, tasks) = due_and_waiting();
    let mut forged = input.clone();
    forged["execution_started_at"] = json!("2026-11-30T09:06:47Z");
    let handled = block(
        w.restart()
            .handle_message(&tasks, &message("m1", TOKEN, &forged).body, None),
    );
    assert_eq!(handled, Handled::Answered);
    let answers = tasks.answers.lock().unwrap().clone();
    let output: Value = serde_json::from_str(answers[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(output["outcome"], "restarted", "{output}");
}

#[test]
fn a_message_naming_no_execution_is_refused_and_one_naming_a_finished_one_dropped() {
    let w = World::failed_with(Some(TIMEOUT), vec![]);
    let input = due(&w);
    // No such execution: the waiting one (whose token it is) is told RestartRefused.
    let tasks = Tasks::waiting(&[TOKEN]);
    let handled = block(
        w.restart()
            .handle_message(&tasks, &message("m1", TOKEN, &input).body, None),
    );
    assert!(
        matches!(handled, Handled::Dropped(ref why) if why.contains("no execution")),
        "{handled:?}"
    );
    let answers = tasks.answers.lock().unwrap().clone();
    assert_eq!(answers[0].1.clone().unwrap_err().0, "RestartRefused");
    // The named execution no longer runs: nothing started, nothing answered.
    let tasks = Tasks::waiting(&[TOKEN]).running(&input);
    for e in tasks.executions.lock().unwrap().values_mut() {
        e.running = false;
    }
    let handled = block(
        w.restart()
            .handle_message(&tasks, &message("m2", TOKEN, &input).body, None),
    );
    assert!(
        matches!(handled, Handled::Dropped(ref why) if why.contains("no longer runs")),
        "{handled:?}"
    );
    assert!(tasks.answers.lock().unwrap().is_empty());
    assert!(w.started().is_empty());
}
