//! The restart queue (docs/design.md §5.12): the restart storm guard. The
//! state machine's Restart task does not invoke the restart function: it
//! sends `{"task_token", "restart"}` to an SQS queue and waits for the token
//! (`sqs:sendMessage.waitForTaskToken`). Lambda's event source mapping hands
//! the messages to the restart function, at most `C` invocations at a time,
//! and each invocation waits the pace `P` after its restart: one slot's
//! restarts are at least `P` apart, which keeps all of them within the
//! service-wide rate the Terraform variable `restart_rate_per_minute` sets
//! ([`RestartPace::for_rate`]).
//!
//! For each message: the heartbeat first (SendTaskHeartbeat), so that
//! nothing is started for an execution that no longer waits (a person's
//! `cancel`, a timed-out task, an answered token); then the restart exactly
//! as a direct invocation does it ([`Restart::handle`]); then the answer
//! (SendTaskSuccess with the output, or SendTaskFailure with the error's
//! stable name, which the Task's Retry and Catch match as before).
//!
//! A message is kept (`batchItemFailures`, back after the visibility
//! timeout) only when the heartbeat or the answer could not be sent for a
//! reason a retry can fix: the restart is then done again, and finds its own
//! run (the client token and the re-check, §6.7). A message with no task
//! token, or whose task no longer waits, is deleted: no one waits for it, and
//! nothing was started for it.

use std::time::Duration;

use appflow_retry_policy::appflow::parse_time;
use appflow_retry_policy::format_time;
use serde_json::Value;

use crate::ports::{AppFlow, Clock, ParameterStore, PortError, TaskTokens};
use crate::queue::{BatchMessage, BatchReply, ItemFailure};
use crate::restart::{Restart, RestartError, RestartOutput};

/// Step Functions' limit on a task token's length.
pub const MAX_TASK_TOKEN_CHARS: usize = 2048;
/// Step Functions' limit on SendTaskFailure's `cause` (32,768), kept in
/// bytes: the strictest of the units it may be counted in (characters,
/// UTF-16 units, bytes), so that a cause of wide characters is not refused.
pub const MAX_CAUSE_BYTES: usize = 32_768;
/// Step Functions' limit on SendTaskSuccess's `output`: 256 KiB of UTF-8.
pub const MAX_OUTPUT_BYTES: usize = 262_144;
/// A reason longer than this is cut when the output would pass
/// [`MAX_OUTPUT_BYTES`] (JSON escapes a character in at most 6 bytes).
pub const MAX_REASON_BYTES: usize = 8_192;

/// The restart queue's pacing: its event source mapping runs at most
/// `concurrency` invocations at a time, and each invocation waits `pace`
/// after its restart before it returns, so that any two StartFlow calls of
/// one slot are at least `pace` apart, and any minute holds at most
/// `concurrency × (⌊60 s / pace⌋ + 1)` of them: at most the rate
/// ([`RestartPace::for_rate`], docs/design.md §5.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPace {
    /// How long an invocation from the restart queue waits after its restart.
    pub pace: Duration,
}

/// The slowest restart rate a pace can keep: at 4 a minute the pace is a
/// minute, well inside the restart function's timeout.
pub const MIN_RESTART_RATE: u64 = 4;
/// The fastest: 500 slots.
pub const MAX_RESTART_RATE: u64 = 6_000;

impl RestartPace {
    /// The mapping's maximum concurrency `C` and the pace `P` for at most
    /// `rate` restarts in any minute (Terraform's `restart_rate_per_minute`;
    /// terraform/modules/service computes the same, and its tests hold it to
    /// these numbers): `C = max(2, ⌈rate / 12⌉)`, `P = ⌈60,000 × C / (rate − C)⌉` ms.
    /// One slot's StartFlow calls are `P` apart, so a minute holds at most
    /// `⌊60,000 / P⌋ + 1 ≤ rate / C` of them, and all `C` slots at most `rate`.
    /// `C` near `rate / 12` keeps `P` near 5 s: a restart's own second or so is
    /// then a small share of each slot's cycle (about 80% of the rate is reached).
    /// None outside [`MIN_RESTART_RATE`]..=[`MAX_RESTART_RATE`].
    pub fn for_rate(rate: u64) -> Option<(u64, RestartPace)> {
        if !(MIN_RESTART_RATE..=MAX_RESTART_RATE).contains(&rate) {
            return None;
        }
        let concurrency = rate.div_ceil(12).max(2);
        let pace_ms = (60_000 * concurrency).div_ceil(rate - concurrency);
        Some((
            concurrency,
            RestartPace {
                pace: Duration::from_millis(pace_ms),
            },
        ))
    }

    /// How long an invocation still waits after its restart, never past
    /// `left` (the time the invocation may still use).
    pub fn rest(&self, left: Duration) -> Duration {
        self.pace.min(left)
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The restart ran and its result (or error) was given to the execution.
    Answered,
    /// Deleted without a restart: no task token, or the execution no longer waits.
    Dropped(String),
    /// Kept for a retry: the reason.
    Kept(String),
}

impl<S: ParameterStore, A: AppFlow, C: Clock> Restart<S, A, C> {
    /// Handles a batch from the restart queue, one message after another;
    /// no message is started once `stop()` says the invocation's time is up
    /// (those are kept).
    ///
    /// A restart still running at `deadline` is abandoned and answered as
    /// `DeadlineExceeded`, which the Task retries (a message to the back of
    /// the queue): the invocation ends before Lambda kills it, and the
    /// execution learns why. Without a deadline, no timer is used.
    pub async fn handle_queued<T: TaskTokens>(
        &self,
        tasks: &T,
        messages: Vec<BatchMessage>,
        stop: impl Fn() -> bool,
        deadline: Option<tokio::time::Instant>,
    ) -> BatchReply {
        let mut reply = BatchReply::default();
        let mut stopped = false;
        for m in messages {
            stopped = stopped || stop();
            let handled = if stopped {
                Handled::Kept("not started: the invocation's time is up".to_owned())
            } else {
                let (handled, restarted) = self.handle_one(tasks, &m.body, deadline).await;
                reply.restarts += usize::from(restarted);
                handled
            };
            match handled {
                Handled::Answered => {}
                Handled::Dropped(why) => {
                    tracing::warn!(message_id = %m.message_id, reason = %why, "restart message deleted, nothing started")
                }
                Handled::Kept(why) => {
                    tracing::error!(message_id = %m.message_id, reason = %why, "restart message kept for a retry");
                    reply.failures.push(ItemFailure {
                        item_identifier: m.message_id,
                    });
                }
            }
        }
        reply
    }

    /// One message: heartbeat, restart, answer.
    pub async fn handle_message<T: TaskTokens>(
        &self,
        tasks: &T,
        body: &str,
        deadline: Option<tokio::time::Instant>,
    ) -> Handled {
        self.handle_one(tasks, body, deadline).await.0
    }

    /// One message, and whether it reached the restart (only those cost the
    /// pace: a message deleted or kept before it started nothing).
    async fn handle_one<T: TaskTokens>(
        &self,
        tasks: &T,
        body: &str,
        deadline: Option<tokio::time::Instant>,
    ) -> (Handled, bool) {
        let (token, input) = match ticket(body) {
            Ok(t) => t,
            Err(why) => return (Handled::Dropped(why), false),
        };
        match tasks.heartbeat(&token).await {
            Ok(()) => {}
            Err(PortError::NotFound(e)) => {
                return (
                    Handled::Dropped(format!(
                        "the execution no longer waits for this restart (stopped, timed out or answered): {e}"
                    )),
                    false,
                );
            }
            Err(e) => {
                return (
                    Handled::Kept(format!("SendTaskHeartbeat failed, nothing started: {e}")),
                    false,
                );
            }
        }
        let mut input = match input {
            Ok(input) => input,
            // A token with a restart that is not JSON a string can hold (a
            // lone surrogate): told at once, nothing started.
            Err(why) => {
                return (
                    self.answer(tasks, &token, Err(RestartError::InvalidInput(why))).await,
                    false,
                );
            }
        };
        // The execution's start time from Step Functions, not from the message:
        // the restart re-decides as of it (§6.8), and a sender of the message
        // could write any time. A payload without a usable name is refused by
        // the restart itself (InvalidInput, RestartRefused).
        if let Some(name) = input.get("execution_name").and_then(Value::as_str).map(str::to_owned) {
            match tasks.execution(&name).await {
                Ok(Some(e)) if e.running => {
                    let sent = input
                        .get("execution_started_at")
                        .and_then(Value::as_str)
                        .and_then(|t| parse_time(t).ok());
                    if sent != Some(e.started_at) {
                        tracing::warn!(execution = %name, sent = %input["execution_started_at"], "the message's execution_started_at is not the execution's: the execution's is used");
                    }
                    input["execution_started_at"] = Value::String(format_time(e.started_at));
                }
                Ok(Some(_)) => {
                    return (
                        Handled::Dropped(format!(
                            "execution {name}, which the message names, no longer runs: nothing started"
                        )),
                        false,
                    );
                }
                Ok(None) => {
                    let why = format!(
                        "restart refused: no execution {name} exists (the message was not made by its Restart task)"
                    );
                    let handled = match tasks.fail(&token, "RestartRefused", &why).await {
                        Ok(()) | Err(PortError::NotFound(_)) => Handled::Dropped(why),
                        Err(e) => Handled::Kept(format!("{why}; the refusal could not be sent: {e}")),
                    };
                    return (handled, false);
                }
                Err(e) => {
                    return (
                        Handled::Kept(format!("DescribeExecution failed, nothing started: {e}")),
                        false,
                    );
                }
            }
        }
        let restart = match deadline {
            None => self.handle(&input).await,
            Some(at) => tokio::time::timeout_at(at, self.handle(&input))
                .await
                .unwrap_or(Err(RestartError::DeadlineExceeded)),
        };
        (self.answer(tasks, &token, restart).await, true)
    }

    /// Tell the execution how its restart went.
    async fn answer<T: TaskTokens>(
        &self,
        tasks: &T,
        token: &str,
        restart: Result<RestartOutput, RestartError>,
    ) -> Handled {
        let answer = match restart {
            Ok(output) => {
                let output = output_within_limit(output);
                tracing::info!(%output, "restart answered");
                tasks.succeed(token, &output).await
            }
            Err(e) => {
                let cause = cut_at_byte(&e.to_string(), MAX_CAUSE_BYTES).to_owned();
                tracing::warn!(error_type = e.error_type(), error = %cause, "restart failed; the execution is told");
                tasks.fail(token, e.error_type(), &cause).await
            }
        };
        match answer {
            Ok(()) => Handled::Answered,
            // Stopped while the restart ran: what it did is logged above.
            Err(PortError::NotFound(e)) => {
                Handled::Dropped(format!("the execution stopped waiting while the restart ran: {e}"))
            }
            Err(e) => Handled::Kept(format!("the restart's answer could not be sent: {e}")),
        }
    }
}

/// The output as SendTaskSuccess takes it: its reason cut when the whole
/// would pass [`MAX_OUTPUT_BYTES`] (a forged input's id quoted in a skip's
/// reason can make it that long); a refused output would keep the message
/// and redo the restart until the task times out.
fn output_within_limit(mut output: RestartOutput) -> String {
    let text = serde_json::to_string(&output).unwrap_or_default();
    if text.len() <= MAX_OUTPUT_BYTES {
        return text;
    }
    let note = format!(" … [cut: {} bytes in all]", output.reason.len());
    let kept = cut_at_byte(&output.reason, MAX_REASON_BYTES - note.len()).to_owned();
    output.reason = kept + &note;
    serde_json::to_string(&output).unwrap_or_default()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character.
fn cut_at_byte(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The task token and the restart input of a message body (the input, or
/// why it cannot be read although the token can), or why the message cannot
/// be answered at all.
fn ticket(body: &str) -> Result<(String, Result<Value, String>), String> {
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        // JSON a Rust string cannot hold (`\ud800`) is valid to Step
        // Functions and SQS: the token is read past it, and the execution is
        // told its input is unreadable rather than left waiting a day.
        Err(e) => match serde_json::from_str::<Unreadable>(body) {
            Ok(u) if usable(&u.task_token) => {
                return Ok((u.task_token, Err(format!("the restart is not readable JSON ({e})"))));
            }
            _ => return Err(format!("the message body is not JSON ({e}): no task token")),
        },
    };
    let token = match value.get("task_token").and_then(Value::as_str) {
        Some(t) if usable(t) => t.to_owned(),
        _ => {
            return Err(format!(
                "field `task_token` is missing, empty or over {MAX_TASK_TOKEN_CHARS} characters: no execution to answer"
            ));
        }
    };
    let input = value.get("restart").cloned().unwrap_or(Value::Null);
    Ok((token, Ok(input)))
}

/// A task token fit to answer with.
fn usable(token: &str) -> bool {
    !token.is_empty() && token.chars().count() <= MAX_TASK_TOKEN_CHARS
}

/// A body whose token is readable but not the rest.
#[derive(serde::Deserialize)]
struct Unreadable {
    task_token: String,
}
