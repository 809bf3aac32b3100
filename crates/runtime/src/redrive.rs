//! Redrive: replays the failures parked in the two alarmed queues to the
//! on-failure function (docs/design.md §6.11).
//!
//! The rule's dead-letter queue holds EventBridge events as they were sent
//! (the message body is the event); the on-failure function's on-failure
//! destination queue holds Lambda asynchronous invocation records, whose
//! `requestPayload` is the event. [`extract`] tells the two apart and takes
//! the event out, read as on-failure reads it ([`IncomingEvent::parse`]: a
//! failed run, a successful run or a deactivation); [`Redrive`] reads the
//! queues through the [`Queue`] port, each up to the count it held at the
//! start, re-invokes on-failure asynchronously through the [`Invoker`] port,
//! and deletes a message only once the invocation was accepted. No AWS SDK here.

use std::collections::HashMap;
use std::future::Future;

use appflow_retry_policy::{EventKind, IncomingEvent};
use serde_json::Value;

use crate::ports::PortError;

/// SQS returns at most 10 messages per receive.
pub const MAX_BATCH: usize = 10;

/// How long a received message stays invisible to others: a redrive that
/// crashes leaves its messages to reappear after this.
pub const DEFAULT_VISIBILITY_TIMEOUT_SECONDS: u32 = 120;

/// Longest cause text kept in a report line.
const MAX_CAUSE_CHARS: usize = 200;

/// One received queue message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueMessage {
    /// The SQS message id: a message seen twice in one run is handled once.
    pub message_id: String,
    /// Deletes (or releases) this receipt of the message.
    pub receipt_handle: String,
    /// The message body: an EventBridge event or a Lambda invocation record (docs/design.md §6.11).
    pub body: String,
    /// String message attributes (EventBridge's `ERROR_CODE`, `RULE_ARN`, ...).
    pub attributes: Vec<(String, String)>,
}

/// An SQS queue, as redrive uses it.
pub trait Queue: Send + Sync {
    /// Up to `max` (at most [`MAX_BATCH`]) messages, each hidden from other
    /// readers for `visibility_timeout_seconds`; empty when none is left.
    fn receive(
        &self,
        queue_url: &str,
        max: usize,
        visibility_timeout_seconds: u32,
    ) -> impl Future<Output = Result<Vec<QueueMessage>, PortError>> + Send;

    /// Deletes the message received with `receipt_handle`.
    fn delete(&self, queue_url: &str, receipt_handle: &str) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Makes the message visible again at once (a message left in place).
    fn release(&self, queue_url: &str, receipt_handle: &str) -> impl Future<Output = Result<(), PortError>> + Send;

    /// About how many messages the queue holds, visible or in flight
    /// (SQS: `ApproximateNumberOfMessages` + `ApproximateNumberOfMessagesNotVisible`).
    fn approximate_count(&self, queue_url: &str) -> impl Future<Output = Result<u64, PortError>> + Send;
}

/// Lambda, as redrive uses it.
pub trait Invoker: Send + Sync {
    /// Invokes `function` asynchronously (InvocationType `Event`) with
    /// `payload`; Ok only when Lambda accepted the event (HTTP 202).
    fn invoke_async(&self, function: &str, payload: &str) -> impl Future<Output = Result<(), PortError>> + Send;
}

impl<T: Queue> Queue for &T {
    fn receive(
        &self,
        queue_url: &str,
        max: usize,
        visibility_timeout_seconds: u32,
    ) -> impl Future<Output = Result<Vec<QueueMessage>, PortError>> + Send {
        (**self).receive(queue_url, max, visibility_timeout_seconds)
    }

    fn delete(&self, queue_url: &str, receipt_handle: &str) -> impl Future<Output = Result<(), PortError>> + Send {
        (**self).delete(queue_url, receipt_handle)
    }

    fn release(&self, queue_url: &str, receipt_handle: &str) -> impl Future<Output = Result<(), PortError>> + Send {
        (**self).release(queue_url, receipt_handle)
    }

    fn approximate_count(&self, queue_url: &str) -> impl Future<Output = Result<u64, PortError>> + Send {
        (**self).approximate_count(queue_url)
    }
}

impl<T: Invoker> Invoker for &T {
    fn invoke_async(&self, function: &str, payload: &str) -> impl Future<Output = Result<(), PortError>> + Send {
        (**self).invoke_async(function, payload)
    }
}

/// Which of the two shapes a message has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The body is the EventBridge event (the rule's dead-letter queue).
    Event,
    /// The body is a Lambda asynchronous invocation record; the event is its
    /// `requestPayload` (on-failure's on-failure destination queue).
    InvocationRecord,
}

/// The original event taken out of a queue message.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// Which of the two shapes the message had.
    pub shape: Shape,
    /// The event, exactly as on-failure first received it.
    pub event: Value,
    /// Which event it is: a failed run, a successful run, a deactivation.
    pub kind: EventKind,
    /// The event's `detail.flow-name`.
    pub flow_name: String,
    /// The id its execution is named after: the run's execution id (failed
    /// or successful), or a deactivation's `deactivated-...` id.
    pub id: String,
    /// Why it was parked, when the message says: the invocation record's
    /// `responsePayload.errorType` (and message) or `requestContext.condition`.
    pub cause: Option<String>,
}

/// A message that holds no usable event, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message field `{field}`: {problem}")]
pub struct ExtractError {
    /// The field at fault, prefixed for records (e.g. `requestPayload.detail.flow-name`), or
    /// `(body)` for a body of neither shape.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ExtractError {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        ExtractError {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Keys only an invocation record has; an EventBridge event has none of them.
const RECORD_KEYS: &[&str] = &["requestPayload", "requestContext", "responseContext", "responsePayload"];

/// Takes the original event out of a message body of either shape. The
/// event must be one on-failure accepts (docs/design.md §6.4), read with the
/// same [`IncomingEvent::parse`]: a run report of any status or a
/// deactivation. Replaying one it would refuse only parks it again, so such
/// a message is refused here, naming the field
/// (`requestPayload.detail.flow-name`, ...).
pub fn extract(body: &str) -> Result<Extracted, ExtractError> {
    let doc: Value = serde_json::from_str(body).map_err(|e| ExtractError::new("(body)", format!("not JSON: {e}")))?;
    let Some(object) = doc.as_object() else {
        return Err(ExtractError::new("(body)", "not a JSON object"));
    };
    let is_record = RECORD_KEYS.iter().any(|k| object.contains_key(*k));
    let (shape, event, prefix, cause) = if is_record {
        let payload = match object.get("requestPayload") {
            None | Some(Value::Null) => {
                return Err(ExtractError::new(
                    "requestPayload",
                    "missing: an invocation record without the event it was invoked with",
                ));
            }
            // Lambda keeps a payload that is not a JSON object as a string.
            Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                .map_err(|_| ExtractError::new("requestPayload", "a string that is not a JSON event"))?,
            Some(v) => v.clone(),
        };
        (Shape::InvocationRecord, payload, "requestPayload.", record_cause(&doc))
    } else if object.contains_key("detail-type") || object.contains_key("detail") || object.contains_key("source") {
        (Shape::Event, doc.clone(), "", None)
    } else {
        return Err(ExtractError::new(
            "(body)",
            "neither an EventBridge event (no `detail-type`) nor a Lambda invocation record (no `requestPayload`)",
        ));
    };
    let incoming = IncomingEvent::parse(&event)
        .map(|(incoming, _)| incoming)
        .map_err(|e| {
            let field = if e.field == "(event)" {
                prefix.trim_end_matches('.').to_owned()
            } else {
                format!("{prefix}{}", e.field)
            };
            ExtractError {
                field: if field.is_empty() { "(body)".to_owned() } else { field },
                problem: e.problem,
            }
        })?;
    Ok(Extracted {
        shape,
        kind: incoming.kind(),
        flow_name: incoming.flow_name().to_owned(),
        id: incoming.id(),
        event,
        cause,
    })
}

/// The invocation record's account of the failure: on-failure's error name
/// and message, else the condition (`RetriesExhausted`, `EventAgeExceeded`).
fn record_cause(record: &Value) -> Option<String> {
    let error_type = record.pointer("/responsePayload/errorType").and_then(Value::as_str);
    let error_message = record.pointer("/responsePayload/errorMessage").and_then(Value::as_str);
    let condition = record.pointer("/requestContext/condition").and_then(Value::as_str);
    let text = match (error_type, error_message, condition) {
        (Some(t), Some(m), _) => format!("{t}: {m}"),
        (Some(t), None, _) => t.to_owned(),
        (None, _, Some(c)) => c.to_owned(),
        _ => return None,
    };
    Some(cut(&text))
}

fn cut(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= MAX_CAUSE_CHARS {
        one_line
    } else {
        let mut out: String = one_line.chars().take(MAX_CAUSE_CHARS).collect();
        out.push('…');
        out
    }
}

/// A queue to redrive and the name reports give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `dead-letter-queue` or `errors-queue`.
    pub name: String,
    /// The queue's URL, as SQS names it.
    pub url: String,
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// on-failure accepted the event and the message was deleted.
    Redriven,
    /// `--dry-run`: would be redriven; left in place.
    WouldRedrive,
    /// No usable event in it: left in place.
    Refused(ExtractError),
    /// Lambda did not accept the invocation: left in place.
    InvokeFailed(PortError),
    /// Invoked, but the delete failed: the message reappears, and a second
    /// redrive of it starts nothing new (the execution name is derived).
    DeleteFailed(PortError),
}

impl Outcome {
    /// Whether the message was dealt with as asked (an error otherwise).
    pub fn is_handled(&self) -> bool {
        matches!(self, Outcome::Redriven | Outcome::WouldRedrive)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Redriven => f.write_str("redriven: on-failure accepted the event, message deleted"),
            Outcome::WouldRedrive => f.write_str("would redrive (dry run: nothing invoked, nothing deleted)"),
            Outcome::Refused(e) => write!(f, "left in the queue: {e}"),
            Outcome::InvokeFailed(e) => write!(f, "left in the queue: on-failure did not accept the event: {e}"),
            Outcome::DeleteFailed(e) => write!(
                f,
                "redriven, but the message could not be deleted and will reappear (redriving it again starts nothing new): {e}"
            ),
        }
    }
}

/// One message's line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The queue's report name (`dead-letter-queue` or `errors-queue`).
    pub queue: String,
    /// The SQS message id.
    pub message_id: String,
    /// The message's shape; None when it has neither.
    pub shape: Option<Shape>,
    /// Which event it holds, when one could be read.
    pub kind: Option<EventKind>,
    /// The event's flow, when one could be read.
    pub flow_name: Option<String>,
    /// The event's id (a run's execution id or a deactivation id), when one could be read.
    pub id: Option<String>,
    /// Why the message was parked, when it says.
    pub cause: Option<String>,
    /// What was done with the message.
    pub outcome: Outcome,
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} message {}", self.queue, self.message_id)?;
        if let (Some(flow), Some(kind), Some(id)) = (&self.flow_name, &self.kind, &self.id) {
            write!(f, " flow {flow} {kind} {id}")?;
        }
        if let Some(cause) = &self.cause {
            write!(f, " (parked: {cause})")?;
        }
        write!(f, ": {}", self.outcome)
    }
}

/// Why a queue's pass ended (docs/design.md §6.11, bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassEnd {
    /// A receive returned nothing.
    Empty,
    /// As many distinct messages were read as the queue held at the start.
    CountReached,
    /// A receive returned only messages this pass had read already (they
    /// came back when their visibility timeout ended).
    OnlySeenAgain,
    /// `--max` was reached.
    Max,
    /// A receive failed (the error is in [`Report::queue_errors`]).
    ReceiveFailed,
    /// The queue's count could not be read, so it was not read at all (the
    /// error is in [`Report::queue_errors`]).
    NotCounted,
}

/// What one queue's pass read and what it left there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// The queue's report name.
    pub queue: String,
    /// The queue's approximate count at the start (visible and in flight);
    /// the most messages the pass reads. None when it could not be read.
    pub at_start: Option<u64>,
    /// Distinct messages read (by message id), each one line of the report.
    pub read: usize,
    /// Deliveries of a message already read: skipped, not counted.
    pub repeats: usize,
    /// Read and left in the queue: refused, not accepted by Lambda, or a dry run's.
    pub not_redriven: usize,
    /// Redriven, but the delete failed: left in the queue, to reappear.
    pub not_deleted: usize,
    /// Why the pass ended.
    pub end: PassEnd,
}

impl Pass {
    /// Messages of the count at the start that were never read (approximate).
    pub fn unread(&self) -> u64 {
        self.at_start
            .unwrap_or(0)
            .saturating_sub(u64::try_from(self.read).unwrap_or(u64::MAX))
    }

    /// Messages the pass left in the queue: read and left, plus never read
    /// (approximate: the count at the start is SQS's estimate).
    pub fn left(&self) -> u64 {
        u64::try_from(self.not_redriven + self.not_deleted).unwrap_or(u64::MAX) + self.unread()
    }
}

impl std::fmt::Display for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(at_start) = self.at_start else {
            return write!(
                f,
                "{}: not read, its messages left as they are: the count of its messages could not be read",
                self.queue
            );
        };
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let left = self.left();
        write!(f, "{}: left {left} message{}", self.queue, plural(left))?;
        let mut parts = Vec::new();
        if self.not_redriven > 0 {
            parts.push(format!("{} not redriven (listed above)", self.not_redriven));
        }
        if self.not_deleted > 0 {
            parts.push(format!("{} redriven but not deleted", self.not_deleted));
        }
        let unread = self.unread();
        if unread > 0 {
            let why = match self.end {
                PassEnd::Max => "--max reached",
                PassEnd::OnlySeenAgain => {
                    "only messages already read came back: their visibility timeout is shorter than the run"
                }
                PassEnd::ReceiveFailed => "a receive failed",
                PassEnd::Empty => "not received: in flight elsewhere, or the count at the start was approximate",
                PassEnd::CountReached | PassEnd::NotCounted => "",
            };
            parts.push(format!("{unread} not read ({why})"));
        }
        if !parts.is_empty() {
            write!(f, ": {}", parts.join(", "))?;
        }
        write!(f, "; read {} of about {at_start} at the start", self.read)?;
        if self.repeats > 0 {
            write!(
                f,
                ", {} repeated deliver{} not counted",
                self.repeats,
                if self.repeats == 1 { "y" } else { "ies" }
            )?;
        }
        Ok(())
    }
}

/// What one redrive did, message by message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// One line per message, in the order handled.
    pub lines: Vec<Line>,
    /// One per queue, in order: what it read and what it left.
    pub passes: Vec<Pass>,
    /// A queue that could not be read (the run stopped reading it).
    pub queue_errors: Vec<(String, PortError)>,
    /// Messages left in place that could not be made visible again (they
    /// reappear after the visibility timeout anyway).
    pub release_errors: usize,
    /// Whether the run was a `--dry-run`: nothing invoked, nothing deleted.
    pub dry_run: bool,
}

impl Report {
    /// True when every message was handled and every queue read.
    pub fn is_success(&self) -> bool {
        self.queue_errors.is_empty() && self.lines.iter().all(|l| l.outcome.is_handled())
    }

    /// How many messages had an outcome matching `pred`.
    pub fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.lines.iter().filter(|l| pred(&l.outcome)).count()
    }

    /// One summary line.
    pub fn summary(&self) -> String {
        let n = self.lines.len();
        let left = self.count(|o| matches!(o, Outcome::Refused(_) | Outcome::InvokeFailed(_)));
        let mut s = format!("{n} message{}: ", if n == 1 { "" } else { "s" });
        if self.dry_run {
            let would = self.count(|o| matches!(o, Outcome::WouldRedrive));
            s.push_str(&format!("{would} would be redriven (dry run)"));
        } else {
            let redriven = self.count(|o| matches!(o, Outcome::Redriven | Outcome::DeleteFailed(_)));
            s.push_str(&format!("{redriven} redriven"));
            let undeleted = self.count(|o| matches!(o, Outcome::DeleteFailed(_)));
            if undeleted > 0 {
                s.push_str(&format!(" ({undeleted} not deleted)"));
            }
        }
        s.push_str(&format!(", {left} could not be handled and stay in their queue"));
        for (queue, e) in &self.queue_errors {
            s.push_str(&format!("; {queue} could not be read: {e}"));
        }
        s
    }
}

/// Options of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// List what would be done: invoke nothing, delete nothing.
    pub dry_run: bool,
    /// Handle at most this many messages in all (None: until the queues are empty).
    pub max: Option<usize>,
    /// How long a received message stays invisible to others, in seconds (default 120).
    pub visibility_timeout_seconds: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dry_run: false,
            max: None,
            visibility_timeout_seconds: DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
        }
    }
}

/// The redrive: queues in, asynchronous invocations of on-failure out.
#[derive(Debug)]
pub struct Redrive<Q, I> {
    /// The queues (SQS), through the [`Queue`] port.
    pub queue: Q,
    /// The on-failure function's asynchronous invocation, through the [`Invoker`] port.
    pub invoker: I,
    /// The on-failure function's name or ARN.
    pub function: String,
}

impl<Q: Queue, I: Invoker> Redrive<Q, I> {
    /// Drains `sources` in order. Each queue's pass reads at most as many
    /// distinct messages as the queue held at its start (its approximate
    /// count, visible and in flight; a queue that cannot be counted is not
    /// read) and ends early when a receive returns nothing or only messages
    /// it has read already (by message id: a repeat is skipped, not
    /// counted), so a short visibility timeout cannot make it loop. Each
    /// message is received with a visibility timeout (a crashed run leaves
    /// it to reappear), its event extracted, on-failure invoked with it, and
    /// the message deleted only once the invocation was accepted. A message
    /// that is not redriven is left in its queue and made visible again when
    /// the pass ends; never deleted in a dry run. [`Report::passes`] says
    /// what each pass left.
    pub async fn run(&self, sources: &[Source], options: Options) -> Report {
        let mut report = Report {
            dry_run: options.dry_run,
            ..Report::default()
        };
        let mut budget = options.max.unwrap_or(usize::MAX);
        for source in sources {
            let mut pass = Pass {
                queue: source.name.clone(),
                at_start: None,
                read: 0,
                repeats: 0,
                not_redriven: 0,
                not_deleted: 0,
                end: PassEnd::NotCounted,
            };
            let at_start = match self.queue.approximate_count(&source.url).await {
                Ok(n) => n,
                Err(e) => {
                    report.queue_errors.push((source.name.clone(), e));
                    report.passes.push(pass);
                    continue;
                }
            };
            pass.at_start = Some(at_start);
            let limit = usize::try_from(at_start).unwrap_or(usize::MAX);
            // Message id -> whether the message is still in the queue.
            let mut seen: HashMap<String, bool> = HashMap::new();
            // (message id, its latest receipt handle): released when the pass ends.
            let mut left: Vec<(String, String)> = Vec::new();
            pass.end = loop {
                if seen.len() >= limit {
                    break PassEnd::CountReached;
                }
                if budget == 0 {
                    break PassEnd::Max;
                }
                // Not capped by what is left of the count: messages read already may fill part of a batch.
                let batch = match self
                    .queue
                    .receive(&source.url, budget.min(MAX_BATCH), options.visibility_timeout_seconds)
                    .await
                {
                    Ok(batch) => batch,
                    Err(e) => {
                        report.queue_errors.push((source.name.clone(), e));
                        break PassEnd::ReceiveFailed;
                    }
                };
                if batch.is_empty() {
                    break PassEnd::Empty;
                }
                let mut new = 0;
                for message in batch {
                    if let Some(&kept) = seen.get(&message.message_id) {
                        // A repeat: not counted. Still in the queue, it is hidden again by this
                        // receipt, whose handle is now the one to release it with.
                        pass.repeats += 1;
                        if kept {
                            match left.iter_mut().find(|(id, _)| *id == message.message_id) {
                                Some(entry) => entry.1 = message.receipt_handle,
                                None => left.push((message.message_id, message.receipt_handle)),
                            }
                        }
                        continue;
                    }
                    if budget == 0 || seen.len() >= limit {
                        // More than was asked for: left as received.
                        left.push((message.message_id, message.receipt_handle));
                        continue;
                    }
                    budget -= 1;
                    new += 1;
                    let line = self.handle(source, &message, options.dry_run).await;
                    let kept = match line.outcome {
                        Outcome::Redriven => false,
                        Outcome::DeleteFailed(_) => {
                            pass.not_deleted += 1;
                            true
                        }
                        _ => {
                            pass.not_redriven += 1;
                            left.push((message.message_id.clone(), message.receipt_handle.clone()));
                            true
                        }
                    };
                    seen.insert(message.message_id.clone(), kept);
                    report.lines.push(line);
                }
                if new == 0 {
                    break PassEnd::OnlySeenAgain;
                }
            };
            pass.read = seen.len();
            for (_, handle) in left {
                if self.queue.release(&source.url, &handle).await.is_err() {
                    report.release_errors += 1;
                }
            }
            report.passes.push(pass);
        }
        report
    }

    async fn handle(&self, source: &Source, message: &QueueMessage, dry_run: bool) -> Line {
        let mut line = Line {
            queue: source.name.clone(),
            message_id: message.message_id.clone(),
            shape: None,
            kind: None,
            flow_name: None,
            id: None,
            cause: None,
            outcome: Outcome::WouldRedrive,
        };
        let extracted = match extract(&message.body) {
            Ok(x) => x,
            Err(e) => {
                line.outcome = Outcome::Refused(e);
                return line;
            }
        };
        line.shape = Some(extracted.shape);
        line.kind = Some(extracted.kind);
        line.flow_name = Some(extracted.flow_name.clone());
        line.id = Some(extracted.id.clone());
        line.cause = extracted.cause.clone().or_else(|| {
            // EventBridge's dead letters say why in their attributes.
            let attr = |k: &str| message.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            match (attr("ERROR_CODE"), attr("ERROR_MESSAGE")) {
                (Some(c), Some(m)) => Some(cut(&format!("{c}: {m}"))),
                (Some(c), None) => Some(c.to_owned()),
                _ => None,
            }
        });
        if dry_run {
            return line;
        }
        let payload = extracted.event.to_string();
        if let Err(e) = self.invoker.invoke_async(&self.function, &payload).await {
            line.outcome = Outcome::InvokeFailed(e);
            return line;
        }
        line.outcome = match self.queue.delete(&source.url, &message.receipt_handle).await {
            Ok(()) => Outcome::Redriven,
            Err(e) => Outcome::DeleteFailed(e),
        };
        line
    }
}
