//! Redrive on in-memory ports: the two message shapes, every kind of event
//! on-failure accepts, refusals naming the field, delete-after-accept, dry
//! run, --max, the bounds of a queue's pass, and what on-failure decides for
//! a replayed failure older than its window.

use appflow_retry_policy::{Action, EventKind, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::fakes::{Flows, Invocations, Ports, Queues, record};
use crate::on_failure::Reply;
use crate::ports::PortError;
use crate::redrive::{Options, Outcome, PassEnd, Redrive, Shape, Source, extract};

const DLQ_MESSAGE: &str = include_str!("../tests/fixtures/dead-letter-queue.message.json");
const DLQ_SUCCESS_MESSAGE: &str = include_str!("../tests/fixtures/dead-letter-queue.success.message.json");
const RECORD_MESSAGE: &str = include_str!("../tests/fixtures/errors-queue.message.json");
const DEACTIVATION_EVENT: &str = include_str!("../../cli/tests/fixtures/scheduled-flow-deactivated.json");
const DLQ: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/appflow-retry-events-dlq";
const ERRORS: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/appflow-retry-on-failure-errors";
const FUNCTION: &str = "appflow-retry-on-failure";

fn sources() -> Vec<Source> {
    vec![
        Source {
            name: "dead-letter-queue".into(),
            url: DLQ.into(),
        },
        Source {
            name: "errors-queue".into(),
            url: ERRORS.into(),
        },
    ]
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn a_dead_letter_is_the_event_itself() {
    let x = extract(DLQ_MESSAGE).unwrap();
    assert_eq!(x.shape, Shape::Event);
    assert_eq!(x.event, json(DLQ_MESSAGE));
    assert_eq!(x.kind, EventKind::FailedRun);
    assert_eq!(x.flow_name, "orders-export");
    assert_eq!(x.id, "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f");
    assert_eq!(x.cause, None);
}

#[test]
fn an_invocation_record_holds_the_event_in_request_payload() {
    let x = extract(RECORD_MESSAGE).unwrap();
    assert_eq!(x.shape, Shape::InvocationRecord);
    assert_eq!(x.event, json(RECORD_MESSAGE)["requestPayload"]);
    assert_eq!(x.event["detail-type"], "AppFlow End Flow Run Report");
    assert_eq!(x.kind, EventKind::FailedRun);
    assert_eq!(x.flow_name, "salesforce-accounts");
    assert_eq!(x.id, "9aa00099-9943-449a-9c7a-488dbc801242");
    assert_eq!(
        x.cause.as_deref(),
        Some("PolicyUnavailable: SSM policy parameters cannot be read: throttled: ThrottlingException: Rate exceeded")
    );

    // Without the error payload, the record's condition says why.
    let mut record = json(RECORD_MESSAGE);
    record["responsePayload"] = Value::Null;
    assert_eq!(
        extract(&record.to_string()).unwrap().cause.as_deref(),
        Some("RetriesExhausted")
    );

    // A payload Lambda kept as a string is read as the event it holds.
    let mut record = json(RECORD_MESSAGE);
    record["requestPayload"] = Value::String(record["requestPayload"].to_string());
    let x = extract(&record.to_string()).unwrap();
    assert_eq!(x.event, json(RECORD_MESSAGE)["requestPayload"]);
}

#[test]
fn a_parked_deactivation_event_is_extracted_under_its_deactivation_id() {
    // The rule also routes the two deactivation events (docs/design.md §4,
    // re-activation rules), so either queue can hold one, in either shape.
    let event = json(DEACTIVATION_EVENT);
    let x = extract(DEACTIVATION_EVENT).unwrap();
    assert_eq!(x.shape, Shape::Event);
    assert_eq!(x.kind, EventKind::Deactivation);
    assert_eq!(x.flow_name, "nightly-orders-sync");
    assert!(x.id.starts_with("deactivated-"), "{}", x.id);

    let mut record = json(RECORD_MESSAGE);
    record["requestPayload"] = event.clone();
    let y = extract(&record.to_string()).unwrap();
    assert_eq!(y.shape, Shape::InvocationRecord);
    assert_eq!(y.event, event);
    assert_eq!((y.kind, &y.id), (x.kind, &x.id));

    // Its required fields are named with the record's prefix.
    record["requestPayload"]["detail"]["flow-name"] = Value::Null;
    let err = extract(&record.to_string()).unwrap_err();
    assert_eq!(err.field, "requestPayload.detail.flow-name");
}

/// A success report in an invocation record, as on-failure's errors queue holds one.
fn success_record() -> String {
    let mut record = json(RECORD_MESSAGE);
    record["requestPayload"] = json(DLQ_SUCCESS_MESSAGE);
    record.to_string()
}

#[test]
fn a_parked_success_report_is_extracted_in_either_shape() {
    // The rule routes success reports of flows whose policy asks for
    // `recovered` (docs/design.md §4, recovery rules): on-failure accepts
    // them, so either queue can hold one, and redrive takes it.
    for (body, shape) in [
        (DLQ_SUCCESS_MESSAGE.to_owned(), Shape::Event),
        (success_record(), Shape::InvocationRecord),
    ] {
        let x = extract(&body).unwrap_or_else(|e| panic!("{shape:?}: {e}"));
        assert_eq!(x.shape, shape);
        assert_eq!(x.event, json(DLQ_SUCCESS_MESSAGE));
        assert_eq!(x.kind, EventKind::SuccessfulRun);
        assert_eq!(
            (x.flow_name.as_str(), x.id.as_str()),
            ("orders-export", "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a")
        );
    }
    // Checked as strictly as a failed run's report.
    let mut record = json(&success_record());
    record["requestPayload"]["detail"]["execution-id"] = json!("");
    assert_eq!(
        extract(&record.to_string()).unwrap_err().field,
        "requestPayload.detail.execution-id"
    );
}

#[tokio::test]
async fn a_parked_success_report_is_redriven_from_either_queue_and_on_failure_takes_it() {
    let q = Queues::default();
    q.put(DLQ, "m-success-dlq", DLQ_SUCCESS_MESSAGE, &[]);
    q.put(ERRORS, "m-success-record", &success_record(), &[]);
    let i = Invocations::default();
    let report = redrive(&q, &i).run(&sources(), Options::default()).await;
    assert!(report.is_success(), "{report:?}");
    assert!(q.remaining(DLQ).is_empty() && q.remaining(ERRORS).is_empty());
    let lines: Vec<String> = report.lines.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "dead-letter-queue message m-success-dlq flow orders-export successful run \
             2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a: redriven: on-failure accepted the event, message deleted",
            "errors-queue message m-success-record flow orders-export successful run \
             2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a (parked: PolicyUnavailable: SSM policy parameters cannot be read: \
             throttled: ThrottlingException: Rate exceeded): redriven: on-failure accepted the event, message deleted",
        ]
    );

    // What was invoked is the event itself, which on-failure's entry point takes as a success report.
    let w = Ports::new(Flows::default(), Utc::now(), "retry_window: 6h\n");
    let invoked = i.invoked.lock().unwrap().clone();
    assert_eq!(invoked.len(), 2);
    for (_, payload) in &invoked {
        assert_eq!(json(payload), json(DLQ_SUCCESS_MESSAGE));
        let reply = w.on_failure().handle_any(&json(payload)).await.unwrap();
        assert!(matches!(reply, Reply::Success(_)), "{reply:?}");
    }
}

#[test]
fn a_message_of_neither_shape_is_refused_naming_the_field() {
    let field = |body: &str| extract(body).unwrap_err().field;
    assert_eq!(field("not json"), "(body)");
    assert_eq!(field("[1, 2]"), "(body)");
    let neither = extract(r#"{"hello": "world"}"#).unwrap_err();
    assert_eq!(neither.field, "(body)");
    assert!(neither.problem.contains("neither an EventBridge event"), "{neither}");

    let mut record = json(RECORD_MESSAGE);
    record.as_object_mut().unwrap().remove("requestPayload");
    assert_eq!(field(&record.to_string()), "requestPayload");

    let mut record = json(RECORD_MESSAGE);
    record["requestPayload"] = json!("plain text");
    assert_eq!(field(&record.to_string()), "requestPayload");

    let mut record = json(RECORD_MESSAGE);
    record["requestPayload"] = json!(42);
    assert_eq!(field(&record.to_string()), "requestPayload");

    let mut record = json(RECORD_MESSAGE);
    record["requestPayload"]["detail"]
        .as_object_mut()
        .unwrap()
        .remove("flow-name");
    let e = extract(&record.to_string()).unwrap_err();
    assert_eq!(e.field, "requestPayload.detail.flow-name");
    assert_eq!(
        e.to_string(),
        format!("message field `requestPayload.detail.flow-name`: {}", e.problem)
    );

    let mut event = json(DLQ_MESSAGE);
    event["source"] = json!("aws.s3");
    assert_eq!(field(&event.to_string()), "source");
    let mut event = json(DLQ_MESSAGE);
    event["detail"]["execution-id"] = json!("");
    assert_eq!(field(&event.to_string()), "detail.execution-id");
}

fn world() -> (Queues, Invocations) {
    let q = Queues::default();
    q.put(
        DLQ,
        "m-dlq",
        DLQ_MESSAGE,
        &[
            ("ERROR_CODE", "SDK_CLIENT_ERROR"),
            ("RULE_ARN", "arn:aws:events:us-east-1:123456789012:rule/x"),
        ],
    );
    q.put(DLQ, "m-garbage", "{\"hello\": 1}", &[]);
    q.put(ERRORS, "m-record", RECORD_MESSAGE, &[]);
    (q, Invocations::default())
}

fn redrive<'a>(q: &'a Queues, i: &'a Invocations) -> Redrive<&'a Queues, &'a Invocations> {
    Redrive {
        queue: q,
        invoker: i,
        function: FUNCTION.into(),
    }
}

#[tokio::test]
async fn accepted_events_are_deleted_and_a_refused_message_stays() {
    let (q, i) = world();
    let report = redrive(&q, &i).run(&sources(), Options::default()).await;

    let invoked = i.invoked.lock().unwrap().clone();
    assert_eq!(invoked.len(), 2);
    assert!(invoked.iter().all(|(f, _)| f == FUNCTION));
    assert_eq!(json(&invoked[0].1), json(DLQ_MESSAGE));
    assert_eq!(json(&invoked[1].1), json(RECORD_MESSAGE)["requestPayload"]);

    assert_eq!(q.remaining(DLQ), ["m-garbage"]);
    assert!(q.remaining(ERRORS).is_empty());
    assert_eq!(*q.released.lock().unwrap(), ["receipt-m-garbage"]);
    assert!(!report.is_success());
    let outcomes: Vec<_> = report
        .lines
        .iter()
        .map(|l| (l.message_id.as_str(), &l.outcome))
        .collect();
    assert!(matches!(outcomes[0], ("m-dlq", Outcome::Redriven)));
    assert!(matches!(outcomes[1], ("m-garbage", Outcome::Refused(e)) if e.field == "(body)"));
    assert!(matches!(outcomes[2], ("m-record", Outcome::Redriven)));
    assert_eq!(
        report.lines[0].to_string(),
        "dead-letter-queue message m-dlq flow orders-export failed run 1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f \
         (parked: SDK_CLIENT_ERROR): redriven: on-failure accepted the event, message deleted"
    );
    assert_eq!(
        report.summary(),
        "3 messages: 2 redriven, 1 could not be handled and stay in their queue"
    );
    let passes: Vec<String> = report.passes.iter().map(ToString::to_string).collect();
    assert_eq!(
        passes,
        [
            "dead-letter-queue: left 1 message: 1 not redriven (listed above); read 2 of about 2 at the start",
            "errors-queue: left 0 messages; read 1 of about 1 at the start",
        ]
    );
}

#[tokio::test]
async fn a_dry_run_invokes_and_deletes_nothing() {
    let (q, i) = world();
    let report = redrive(&q, &i)
        .run(
            &sources(),
            Options {
                dry_run: true,
                ..Options::default()
            },
        )
        .await;
    assert!(i.invoked.lock().unwrap().is_empty());
    assert!(q.deleted.lock().unwrap().is_empty());
    assert_eq!(q.remaining(DLQ), ["m-dlq", "m-garbage"]);
    assert_eq!(q.remaining(ERRORS), ["m-record"]);
    // Every message is visible again for the real run.
    assert_eq!(q.released.lock().unwrap().len(), 3);
    assert_eq!(report.count(|o| *o == Outcome::WouldRedrive), 2);
    assert_eq!(
        report.summary(),
        "3 messages: 2 would be redriven (dry run), 1 could not be handled and stay in their queue"
    );
    assert_eq!(
        report.passes.iter().map(|p| p.left()).collect::<Vec<_>>(),
        [2, 1],
        "a dry run leaves everything"
    );
}

#[tokio::test]
async fn max_bounds_the_messages_handled() {
    let q = Queues::default();
    for n in 0..15 {
        q.put(DLQ, &format!("m{n}"), DLQ_MESSAGE, &[]);
    }
    let i = Invocations::default();
    let report = redrive(&q, &i)
        .run(
            &sources(),
            Options {
                max: Some(12),
                ..Options::default()
            },
        )
        .await;
    assert_eq!(report.lines.len(), 12);
    assert_eq!(i.invoked.lock().unwrap().len(), 12);
    assert_eq!(q.remaining(DLQ).len(), 3);
    // Never more received than the budget allows: 10, then 2; the errors queue not at all.
    assert_eq!(*q.receives.lock().unwrap(), [10, 2]);
    assert!(report.is_success());
    assert_eq!(report.passes[0].end, PassEnd::Max);
    assert_eq!(
        report.passes[0].to_string(),
        "dead-letter-queue: left 3 messages: 3 not read (--max reached); read 12 of about 15 at the start"
    );
}

#[tokio::test]
async fn a_message_delivered_twice_is_redriven_once() {
    let (q, i) = world();
    *q.duplicate.lock().unwrap() = true;
    let report = redrive(&q, &i).run(&sources(), Options::default()).await;
    assert_eq!(report.lines.len(), 3);
    assert_eq!(i.invoked.lock().unwrap().len(), 2);
    assert_eq!(report.passes.iter().map(|p| p.repeats).sum::<usize>(), 2);
    // The repeat of a deleted message is not released; the refused one is, once.
    assert_eq!(*q.released.lock().unwrap(), ["receipt-m-garbage"]);
}

/// Options of a run whose receives hide nothing: every message left in
/// the queue comes back on the next receive (a visibility timeout of 0).
fn hiding_nothing(dry_run: bool) -> Options {
    Options {
        dry_run,
        visibility_timeout_seconds: 0,
        ..Options::default()
    }
}

#[tokio::test]
async fn a_pass_ends_when_it_has_read_what_the_queue_held_though_messages_come_back() {
    // Three messages that stay (refused) ahead of twelve that are redriven:
    // with nothing hidden, every receive brings the three back. Reading
    // until a receive is empty would never end; the loop guard turns that
    // into a receive error instead of a hang.
    let q = Queues::default();
    for n in 0..3 {
        q.put(DLQ, &format!("g{n}"), "{\"hello\": 1}", &[]);
    }
    for n in 0..12 {
        q.put(DLQ, &format!("m{n:02}"), DLQ_MESSAGE, &[]);
    }
    *q.max_receives.lock().unwrap() = Some(20);
    let i = Invocations::default();
    let report = redrive(&q, &i).run(&sources()[..1], hiding_nothing(false)).await;

    assert!(report.queue_errors.is_empty(), "{:?}", report.queue_errors);
    let ids: std::collections::HashSet<&str> = report.lines.iter().map(|l| l.message_id.as_str()).collect();
    assert_eq!((report.lines.len(), ids.len()), (15, 15), "each message counted once");
    assert_eq!(i.invoked.lock().unwrap().len(), 12);
    assert_eq!(q.remaining(DLQ), ["g0", "g1", "g2"]);
    assert_eq!(*q.receives.lock().unwrap(), [10, 10]);
    let pass = &report.passes[0];
    assert_eq!(
        (pass.end, pass.read, pass.repeats, pass.left()),
        (PassEnd::CountReached, 15, 3, 3)
    );
    assert_eq!(
        pass.to_string(),
        "dead-letter-queue: left 3 messages: 3 not redriven (listed above); read 15 of about 15 at the start, \
         3 repeated deliveries not counted"
    );
    assert_eq!(
        report.summary(),
        "15 messages: 12 redriven, 3 could not be handled and stay in their queue"
    );
}

#[tokio::test]
async fn a_pass_ends_when_only_messages_it_read_come_back_and_says_what_it_left() {
    // A dry run deletes nothing: with nothing hidden, the second receive
    // brings back the first ten and none of the other five.
    let q = Queues::default();
    for n in 0..15 {
        q.put(DLQ, &format!("m{n:02}"), DLQ_MESSAGE, &[]);
    }
    *q.max_receives.lock().unwrap() = Some(20);
    let i = Invocations::default();
    let report = redrive(&q, &i).run(&sources()[..1], hiding_nothing(true)).await;

    assert!(report.queue_errors.is_empty(), "{:?}", report.queue_errors);
    assert_eq!(report.lines.len(), 10, "the ten read, each once");
    assert_eq!(*q.receives.lock().unwrap(), [10, 10]);
    let pass = &report.passes[0];
    assert_eq!(
        (pass.end, pass.read, pass.unread(), pass.left()),
        (PassEnd::OnlySeenAgain, 10, 5, 15)
    );
    assert_eq!(
        pass.to_string(),
        "dead-letter-queue: left 15 messages: 10 not redriven (listed above), 5 not read (only messages already \
         read came back: their visibility timeout is shorter than the run); read 10 of about 15 at the start, \
         10 repeated deliveries not counted"
    );
    // Each message left is released once, with its latest receipt.
    assert_eq!(q.released.lock().unwrap().len(), 10);
}

#[tokio::test]
async fn a_queue_that_cannot_be_counted_is_not_read() {
    let (q, i) = world();
    *q.fail_count.lock().unwrap() = Some(PortError::Failed("AccessDenied: sqs:GetQueueAttributes".into()));
    let report = redrive(&q, &i).run(&sources(), Options::default()).await;
    assert!(q.receives.lock().unwrap().is_empty());
    assert!(i.invoked.lock().unwrap().is_empty());
    assert!(!report.is_success());
    assert_eq!(report.queue_errors.len(), 2);
    assert_eq!(report.passes[0].end, PassEnd::NotCounted);
    assert_eq!(
        report.passes[0].to_string(),
        "dead-letter-queue: not read, its messages left as they are: the count of its messages could not be read"
    );
    assert!(
        report
            .summary()
            .ends_with("; errors-queue could not be read: AccessDenied: sqs:GetQueueAttributes"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn messages_in_flight_at_the_start_are_reported_as_left() {
    // Two messages another reader (or a crashed run) holds: counted, not received.
    let (q, i) = world();
    for (_, _, visible) in q.messages.lock().unwrap().iter_mut().take(2) {
        *visible = false;
    }
    let report = redrive(&q, &i).run(&sources()[..1], Options::default()).await;
    assert!(report.lines.is_empty());
    assert_eq!(
        report.passes[0].to_string(),
        "dead-letter-queue: left 2 messages: 2 not read (not received: in flight elsewhere, or the count at the \
         start was approximate); read 0 of about 2 at the start"
    );
}

#[tokio::test]
async fn a_refused_invocation_leaves_the_message() {
    let (q, i) = world();
    *i.fail.lock().unwrap() = Some(PortError::Throttled("TooManyRequestsException".into()));
    let report = redrive(&q, &i).run(&sources(), Options::default()).await;
    assert!(q.deleted.lock().unwrap().is_empty());
    assert_eq!(q.remaining(DLQ).len() + q.remaining(ERRORS).len(), 3);
    assert!(!report.is_success());
    assert_eq!(report.count(|o| matches!(o, Outcome::InvokeFailed(_))), 2);
    assert!(
        report.lines[0]
            .to_string()
            .ends_with("left in the queue: on-failure did not accept the event: throttled: TooManyRequestsException"),
        "{}",
        report.lines[0]
    );
}

#[tokio::test]
async fn a_failed_delete_is_reported() {
    let (q, i) = world();
    *q.fail_delete.lock().unwrap() = Some(PortError::Unavailable("503".into()));
    let report = redrive(&q, &i).run(&sources(), Options::default()).await;
    assert_eq!(i.invoked.lock().unwrap().len(), 2);
    assert_eq!(report.count(|o| matches!(o, Outcome::DeleteFailed(_))), 2);
    assert!(!report.is_success());
    assert!(
        report
            .summary()
            .starts_with("3 messages: 2 redriven (2 not deleted), 1 could not")
    );
}

/// docs/design.md §4 rule 9: a failure replayed after its policy's
/// retry_window has passed gives up, and says so.
#[tokio::test]
async fn a_replayed_failure_older_than_its_window_gives_up() {
    let event = extract(RECORD_MESSAGE).unwrap();
    let failed_at: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-29T09:02:47.643Z")
        .unwrap()
        .with_timezone(&Utc);
    let decide_at = async |hours: i64| {
        let w = Ports::new(
            Flows::default(),
            failed_at + TimeDelta::hours(hours),
            "retry_window: 6h\n",
        );
        w.flows.add(
            "salesforce-accounts",
            "OnDemand",
            vec![record(
                "9aa00099-9943-449a-9c7a-488dbc801242",
                RunStatus::Error,
                failed_at,
            )],
        );
        w.on_failure().handle(&event.event).await.unwrap().decision
    };

    // Replayed within the window, the same event is retried ...
    assert_eq!(decide_at(1).await.action, Action::Retry);
    // ... and after it, given up, saying why.
    let replayed = decide_at(7).await;
    assert_eq!(replayed.action, Action::GiveUp);
    assert_eq!(
        replayed.reason,
        "the failure streak began 2026-11-29T09:02:47.643Z and retry_window 6h has passed"
    );
    assert!(replayed.notify, "give_up is in the default notify list");
}
