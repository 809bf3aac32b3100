//! Redrive on in-memory ports: the two message shapes, refusals naming the
//! field, delete-after-accept, dry run, --max, and what on-failure decides
//! for a replayed failure older than its window.

use appflow_retry_policy::{Action, RunStatus};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::fakes::{Flows, Invocations, Ports, Queues, record};
use crate::ports::PortError;
use crate::redrive::{Options, Outcome, Redrive, Shape, Source, extract};

const DLQ_MESSAGE: &str = include_str!("../tests/fixtures/dead-letter-queue.message.json");
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
    assert_eq!(x.flow_name, "orders-export");
    assert_eq!(x.execution_id, "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f");
    assert_eq!(x.cause, None);
}

#[test]
fn an_invocation_record_holds_the_event_in_request_payload() {
    let x = extract(RECORD_MESSAGE).unwrap();
    assert_eq!(x.shape, Shape::InvocationRecord);
    assert_eq!(x.event, json(RECORD_MESSAGE)["requestPayload"]);
    assert_eq!(x.event["detail-type"], "AppFlow End Flow Run Report");
    assert_eq!(x.flow_name, "salesforce-accounts");
    assert_eq!(x.execution_id, "9aa00099-9943-449a-9c7a-488dbc801242");
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
    assert_eq!(x.flow_name, "nightly-orders-sync");
    assert!(x.execution_id.starts_with("deactivated-"), "{}", x.execution_id);

    let mut record = json(RECORD_MESSAGE);
    record["requestPayload"] = event.clone();
    let y = extract(&record.to_string()).unwrap();
    assert_eq!(y.shape, Shape::InvocationRecord);
    assert_eq!(y.event, event);
    assert_eq!(y.execution_id, x.execution_id);

    // Its required fields are named with the record's prefix.
    record["requestPayload"]["detail"]["flow-name"] = Value::Null;
    let err = extract(&record.to_string()).unwrap_err();
    assert_eq!(err.field, "requestPayload.detail.flow-name");
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
        "dead-letter-queue message m-dlq flow orders-export execution 1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f \
         (parked: SDK_CLIENT_ERROR): redriven: on-failure accepted the event, message deleted"
    );
    assert_eq!(
        report.summary(),
        "3 messages: 2 redriven, 1 could not be handled and stay in their queue"
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
}

#[tokio::test]
async fn a_message_delivered_twice_is_redriven_once() {
    let (q, i) = world();
    *q.duplicate.lock().unwrap() = true;
    let report = redrive(&q, &i).run(&sources(), Options::default()).await;
    assert_eq!(report.lines.len(), 3);
    assert_eq!(i.invoked.lock().unwrap().len(), 2);
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
