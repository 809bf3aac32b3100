//! The AppFlow data a decision reads, as plain domain types: the EventBridge
//! "AppFlow End Flow Run Report" event and the flow's run records.
//!
//! These parse the JSON shapes AWS sends (not SDK types): the Lambda and the
//! CLI read the same event through [`FailureEvent::from_json`]; the AWS
//! adapter builds [`RunRecord`]s from SDK output, the CLI from
//! `aws appflow describe-flow-execution-records` output through [`parse_history`].

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// The `source` of every AppFlow EventBridge event; any other source is an [`EventError`].
pub const EVENT_SOURCE: &str = "aws.appflow";
/// The `detail-type` of a run's end report, failed or successful (docs/design.md §6.4).
pub const EVENT_DETAIL_TYPE: &str = "AppFlow End Flow Run Report";
/// The `detail.status` of a successful run's report: such a report is never a failure,
/// only a possible recovery (docs/design.md §4, recovery rules).
pub const STATUS_SUCCESSFUL: &str = "Execution Successful";
/// The deactivation events (docs/design.md §6.4), one per trigger type.
pub const SCHEDULED_DEACTIVATED: &str = "AppFlow Scheduled Flow Deactivated";
/// The `detail-type` AppFlow sends when it deactivates an event-triggered flow.
pub const EVENT_DEACTIVATED: &str = "AppFlow Event Flow Deactivated";
/// The `detail` fields a deactivation reason is read from, in this order:
/// AWS names no field ("the deactivation reason is specified in the event
/// payload"), so the likely spellings are accepted.
pub const REASON_FIELDS: &[&str] = &[
    "deactivation-reason",
    "deactivationReason",
    "deactivation_reason",
    "reason",
    "error",
    "status-reason",
];

/// An event that cannot be handled, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event field `{field}`: {problem}")]
pub struct EventError {
    /// The field at fault as a JSON path into the event, e.g. `detail.flow-name`.
    pub field: String,
    /// What is wrong with it, e.g. `missing` or `is empty`.
    pub problem: String,
}

impl EventError {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        EventError {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    /// A successful run's report where only a failed run is taken
    /// ([`FailureEvent::parse`]; [`IncomingEvent::parse`] takes both).
    pub fn not_a_failed_run() -> Self {
        EventError::new(
            "detail.status",
            format!("\"{STATUS_SUCCESSFUL}\" is not a failed run (check the EventBridge rule)"),
        )
    }
}

/// Longest AppFlow message kept (in the state machine input, the logs and
/// the notifications); the rest is cut with a note of the full length.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Longest flow name or execution id accepted (AppFlow's own limit for
/// flow names); a longer one is not from AppFlow.
pub const MAX_NAME_CHARS: usize = 256;

/// `message`, cut to at most [`MAX_MESSAGE_BYTES`] bytes on a character
/// boundary, with a note of how long it was.
pub fn truncate_message(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.into();
    }
    let note = format!(" … [truncated: {} bytes in all]", message.len());
    let mut end = MAX_MESSAGE_BYTES.saturating_sub(note.len());
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &message[..end]).into()
}

/// A flow's trigger type, as AppFlow spells it in DescribeFlow and ListFlows
/// (`OnDemand`, `Scheduled`, `Event`) and in its events (`ONDEMAND`, ...):
/// read case-insensitively. A type AppFlow may add later is kept as
/// [`TriggerType::Other`] with its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TriggerType {
    /// Run by StartFlow or by hand (events spell it `ONDEMAND`): the only type a restart can re-run.
    OnDemand,
    /// Run on a schedule; AppFlow deactivates it after its error threshold of failed runs in a row.
    Scheduled,
    /// Run on a source application's event; AppFlow deactivates it after one failed run.
    Event,
    /// Any other text, as sent.
    Other(String),
}

impl TriggerType {
    /// The trigger type `text` names, ignoring case and surrounding blanks.
    pub fn parse(text: &str) -> Self {
        let t = text.trim();
        if t.eq_ignore_ascii_case("OnDemand") {
            TriggerType::OnDemand
        } else if t.eq_ignore_ascii_case("Scheduled") {
            TriggerType::Scheduled
        } else if t.eq_ignore_ascii_case("Event") {
            TriggerType::Event
        } else {
            TriggerType::Other(text.to_owned())
        }
    }

    /// As DescribeFlow spells it; an unknown type as it was sent.
    pub fn as_str(&self) -> &str {
        match self {
            TriggerType::OnDemand => "OnDemand",
            TriggerType::Scheduled => "Scheduled",
            TriggerType::Event => "Event",
            TriggerType::Other(t) => t,
        }
    }

    /// Whether AppFlow deactivates the flow after failures (and StartFlow
    /// re-activates it): a scheduled or an event flow.
    pub fn is_scheduled_or_event(&self) -> bool {
        matches!(self, TriggerType::Scheduled | TriggerType::Event)
    }
}

impl std::fmt::Display for TriggerType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TriggerType {
    /// As AppFlow's EventBridge events spell it in `detail.trigger-type`
    /// (`ONDEMAND`, `SCHEDULED`, `EVENT`); an unknown type as it was sent.
    pub fn as_event_str(&self) -> &str {
        match self {
            TriggerType::OnDemand => "ONDEMAND",
            TriggerType::Scheduled => "SCHEDULED",
            TriggerType::Event => "EVENT",
            TriggerType::Other(t) => t,
        }
    }
}

impl serde::Serialize for TriggerType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TriggerType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(TriggerType::parse(&<String as serde::Deserialize>::deserialize(d)?))
    }
}

/// A failed flow run as its EventBridge event reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureEvent {
    /// The AppFlow flow's name, `detail.flow-name` (non-empty, at most [`MAX_NAME_CHARS`] characters).
    pub flow_name: String,
    /// The failed run's id, `detail.execution-id` (non-empty, at most [`MAX_NAME_CHARS`] characters).
    pub execution_id: String,
    /// `detail.trigger-type` as sent (`ONDEMAND`, `SCHEDULED`, `EVENT`); None when absent.
    pub trigger_type: Option<String>,
    /// `detail.status` as sent (e.g. `Execution Failed`, `Execution Canceled`); None when absent or
    /// not a string.
    pub status: Option<String>,
    /// `detail.error`, at most [`MAX_MESSAGE_BYTES`]; None when absent or empty.
    pub error: Option<String>,
    /// `detail.start-time`.
    pub start_time: Option<DateTime<Utc>>,
    /// The envelope's `time`.
    pub time: Option<DateTime<Utc>>,
}

/// An optional event field that was odd and was degraded, not fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNote {
    /// The optional field that was degraded, as a JSON path (e.g. `detail.error`).
    pub field: String,
    /// What was done with it, e.g. "not a string: kept as its JSON text".
    pub note: String,
}

impl std::fmt::Display for EventNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event field `{}`: {}", self.field, self.note)
    }
}

impl FailureEvent {
    /// Reads a whole EventBridge event, dropping the notes of [`FailureEvent::parse`].
    pub fn from_json(event: &Value) -> Result<Self, EventError> {
        Self::parse(event).map(|(e, _)| e)
    }

    /// Reads a whole EventBridge event (docs/design.md §6.4). The envelope
    /// (`source`, `detail-type`, `detail`) and `detail.flow-name` /
    /// `detail.execution-id` are required; an optional field of an odd type
    /// or value is degraded (stringified or ignored) and noted, never fatal.
    pub fn parse(event: &Value) -> Result<(Self, Vec<EventNote>), EventError> {
        Self::parse_report(event, Some(false))
    }

    /// Reads the report of a *successful* run (docs/design.md §4, recovery
    /// rules): the same fields and checks as [`FailureEvent::parse`], but
    /// `detail.status` must be `Execution Successful`.
    pub fn parse_success(event: &Value) -> Result<(Self, Vec<EventNote>), EventError> {
        Self::parse_report(event, Some(true))
    }

    /// `success`: Some(true) requires a successful run's status, Some(false)
    /// refuses it, None takes either (the caller tells them apart).
    fn parse_report(event: &Value, success: Option<bool>) -> Result<(Self, Vec<EventNote>), EventError> {
        check_source(event)?;
        let mut notes = Vec::new();
        let detail_type = opt_str(event, "detail-type")?;
        if detail_type != Some(EVENT_DETAIL_TYPE) {
            return Err(EventError::new(
                "detail-type",
                format!("expected \"{EVENT_DETAIL_TYPE}\", got {}", shown(detail_type)),
            ));
        }
        let time = lenient_time(event, "time", "time", &mut notes);
        let detail = detail_object(event)?;
        let field = |name: &str| format!("detail.{name}");
        let required = |name: &str| -> Result<String, EventError> {
            let v = opt_str(detail, name).map_err(|e| EventError::new(&field(name), e.problem))?;
            check_name(&field(name), v).map(str::to_owned)
        };
        let flow_name = required("flow-name")?;
        let execution_id = required("execution-id")?;
        let status = lenient_str(detail, "status", &mut notes);
        if success == Some(true) && status.as_deref() != Some(STATUS_SUCCESSFUL) {
            return Err(EventError::new(
                &field("status"),
                format!("expected \"{STATUS_SUCCESSFUL}\", got {}", shown(status.as_deref())),
            ));
        }
        if success == Some(false) && status.as_deref() == Some(STATUS_SUCCESSFUL) {
            return Err(EventError::not_a_failed_run());
        }
        let start_time = lenient_time(detail, "start-time", "detail.start-time", &mut notes);
        if start_time.is_none() && time.is_none() {
            return Err(EventError::new(
                &field("start-time"),
                "missing or unreadable, and the event has no usable `time`",
            ));
        }
        let error = match detail.get("error") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                notes.push(EventNote {
                    field: field("error"),
                    note: "not a string: kept as its JSON text".into(),
                });
                Some(other.to_string())
            }
        }
        .filter(|e| !e.trim().is_empty())
        .map(|e| truncate_message(&e).into_owned());
        let event = FailureEvent {
            flow_name,
            execution_id,
            trigger_type: lenient_str(detail, "trigger-type", &mut notes),
            status,
            error,
            start_time,
            time,
        };
        Ok((event, notes))
    }

    /// Whether the run can be restarted with StartFlow: on-demand, or the
    /// trigger type is missing or empty (the restart re-checks with DescribeFlow).
    pub fn is_on_demand(&self) -> bool {
        self.trigger().is_none_or(|t| t == TriggerType::OnDemand)
    }

    /// The event's trigger type; None when it is missing or empty.
    pub fn trigger(&self) -> Option<TriggerType> {
        self.trigger_type
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(TriggerType::parse)
    }

    /// Whether the event says a person cancelled the run: its `status`
    /// mentions a cancel in either spelling (AWS documents no failure status
    /// values; "Execution Canceled" is the expected one).
    pub fn is_cancelled(&self) -> bool {
        self.status.as_deref().is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("cancel")
        })
    }
}

/// The trigger type of a deactivated flow, from the event's `detail-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeactivatedKind {
    /// "AppFlow Scheduled Flow Deactivated": a scheduled flow reached its error threshold.
    Scheduled,
    /// "AppFlow Event Flow Deactivated": an event-triggered flow failed.
    Event,
}

impl DeactivatedKind {
    /// The event's `detail-type` for this kind ([`SCHEDULED_DEACTIVATED`] or [`EVENT_DEACTIVATED`]).
    pub fn detail_type(self) -> &'static str {
        match self {
            DeactivatedKind::Scheduled => SCHEDULED_DEACTIVATED,
            DeactivatedKind::Event => EVENT_DEACTIVATED,
        }
    }

    /// As DescribeFlow spells the trigger type.
    pub fn trigger_type(self) -> &'static str {
        match self {
            DeactivatedKind::Scheduled => "Scheduled",
            DeactivatedKind::Event => "Event",
        }
    }

    /// The trigger type of the deactivated flow.
    pub fn trigger(self) -> TriggerType {
        match self {
            DeactivatedKind::Scheduled => TriggerType::Scheduled,
            DeactivatedKind::Event => TriggerType::Event,
        }
    }
}

/// Whether an event's `detail-type` is one of the deactivation events (a
/// look, not a parse: the handlers and redrive read an event once, with
/// [`IncomingEvent::parse`]).
pub fn is_deactivation(event: &Value) -> bool {
    matches!(
        event.get("detail-type").and_then(Value::as_str),
        Some(SCHEDULED_DEACTIVATED | EVENT_DEACTIVATED)
    )
}

/// AppFlow deactivated a scheduled or event flow after failures, as its
/// EventBridge event reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeactivationEvent {
    /// The deactivated flow's name, `detail.flow-name` (at most [`MAX_NAME_CHARS`] characters).
    pub flow_name: String,
    /// Whether a scheduled or an event flow was deactivated, from the event's `detail-type`.
    pub kind: DeactivatedKind,
    /// The deactivation reason, at most [`MAX_MESSAGE_BYTES`]; None when absent or empty.
    pub reason: Option<String>,
    /// The `detail` field the reason was read from (one of [`REASON_FIELDS`]).
    pub reason_field: Option<&'static str>,
    /// When AppFlow deactivated the flow: `detail.deactivation-time` (documented by AWS), else
    /// the envelope's `time`.
    pub time: Option<DateTime<Utc>>,
    /// The envelope's `id` (EventBridge keeps it across redeliveries).
    pub event_id: Option<String>,
}

impl DeactivationEvent {
    /// Reads a whole EventBridge deactivation event, leniently like
    /// [`FailureEvent::parse`]: `source`, `detail-type` (one of the two),
    /// `detail` and `detail.flow-name` are required, and a `time` or an `id`
    /// to name the deactivation by; the rest degrades and is noted.
    pub fn parse(event: &Value) -> Result<(Self, Vec<EventNote>), EventError> {
        check_source(event)?;
        let mut notes = Vec::new();
        let kind = match opt_str(event, "detail-type")? {
            Some(SCHEDULED_DEACTIVATED) => DeactivatedKind::Scheduled,
            Some(EVENT_DEACTIVATED) => DeactivatedKind::Event,
            other => {
                return Err(EventError::new(
                    "detail-type",
                    format!(
                        "expected \"{SCHEDULED_DEACTIVATED}\" or \"{EVENT_DEACTIVATED}\", got {}",
                        shown(other)
                    ),
                ));
            }
        };
        // AWS documents `deactivation-time` in the detail: the deactivation's own
        // time, preferred; else the envelope's.
        let documented = event
            .get("detail")
            .and_then(|d| lenient_time(d, "deactivation-time", "detail.deactivation-time", &mut notes));
        let time = documented.or_else(|| lenient_time(event, "time", "time", &mut notes));
        let event_id = lenient_str(event, "id", &mut notes)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if time.is_none() && event_id.is_none() {
            return Err(EventError::new(
                "time",
                "missing or unreadable, and the event has no `id`: the deactivation cannot be named",
            ));
        }
        let detail = detail_object(event)?;
        let flow_name =
            match opt_str(detail, "flow-name").map_err(|e| EventError::new("detail.flow-name", e.problem))? {
                None => return Err(EventError::new("detail.flow-name", "missing")),
                Some(v) if v.trim().is_empty() => return Err(EventError::new("detail.flow-name", "is empty")),
                Some(v) if v.trim().chars().count() > MAX_NAME_CHARS => {
                    return Err(EventError::new(
                        "detail.flow-name",
                        format!("is longer than {MAX_NAME_CHARS} characters, AppFlow's limit"),
                    ));
                }
                Some(v) => v.trim().to_owned(),
            };
        let mut reason = None;
        let mut reason_field = None;
        for &name in REASON_FIELDS {
            let text = match detail.get(name) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    notes.push(EventNote {
                        field: format!("detail.{name}"),
                        note: "not a string: kept as its JSON text".into(),
                    });
                    other.to_string()
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            reason = Some(truncate_message(&text).into_owned());
            reason_field = Some(name);
            break;
        }
        if reason.is_none() {
            notes.push(EventNote {
                field: "detail".into(),
                note: format!("no deactivation reason in any of {}", REASON_FIELDS.join(", ")),
            });
        }
        let event = DeactivationEvent {
            flow_name,
            kind,
            reason,
            reason_field,
            time,
            event_id,
        };
        Ok((event, notes))
    }

    /// A stable name of this deactivation, the same for every delivery of
    /// the event: `deactivated-<time as YYYYMMDDThhmmssZ>`, else
    /// `deactivated-<16 hex of the event id's hash>`. It stands where a
    /// failed run's execution id stands (execution name, client token).
    pub fn deactivation_id(&self) -> String {
        match self.time {
            Some(t) => format!("deactivated-{}", t.format("%Y%m%dT%H%M%SZ")),
            None => format!(
                "deactivated-{:016x}",
                crate::backoff::seed_for(self.event_id.as_deref().unwrap_or_default())
            ),
        }
    }
}

/// Which of the events the rule routes an [`IncomingEvent`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An end-of-run report whose status is not [`STATUS_SUCCESSFUL`].
    FailedRun,
    /// An end-of-run report whose status is [`STATUS_SUCCESSFUL`].
    SuccessfulRun,
    /// One of the two deactivation events.
    Deactivation,
}

impl EventKind {
    /// As reports print it: `failed run`, `successful run`, `deactivation`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::FailedRun => "failed run",
            EventKind::SuccessfulRun => "successful run",
            EventKind::Deactivation => "deactivation",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every event the on-failure function accepts (docs/design.md §6.4), read
/// once by [`IncomingEvent::parse`]: the one view on-failure's dispatch and
/// redrive share.
#[derive(Debug, Clone, PartialEq)]
pub enum IncomingEvent {
    /// A failed (or cancelled, or otherwise unsuccessful) run's report: decided by rules 1–11.
    FailedRun(FailureEvent),
    /// A successful run's report: a possible recovery (docs/design.md §4, recovery rules).
    SuccessfulRun(FailureEvent),
    /// A scheduled or event flow deactivated after failures (re-activation rules).
    Deactivation(DeactivationEvent),
}

impl IncomingEvent {
    /// Reads a whole EventBridge event once: `source` first, then
    /// `detail-type` picks the shape (a run report, or one of the two
    /// deactivation events), then that shape's checks as in
    /// [`FailureEvent::parse`] and [`DeactivationEvent::parse`]; a run
    /// report's `detail.status` tells a successful run from a failed one.
    /// An error names the field; the notes are the degraded optional fields.
    pub fn parse(event: &Value) -> Result<(Self, Vec<EventNote>), EventError> {
        check_source(event)?;
        match opt_str(event, "detail-type")? {
            Some(SCHEDULED_DEACTIVATED | EVENT_DEACTIVATED) => {
                DeactivationEvent::parse(event).map(|(d, notes)| (IncomingEvent::Deactivation(d), notes))
            }
            Some(EVENT_DETAIL_TYPE) => {
                let (report, notes) = FailureEvent::parse_report(event, None)?;
                let incoming = if report.status.as_deref() == Some(STATUS_SUCCESSFUL) {
                    IncomingEvent::SuccessfulRun(report)
                } else {
                    IncomingEvent::FailedRun(report)
                };
                Ok((incoming, notes))
            }
            other => Err(EventError::new(
                "detail-type",
                format!(
                    "expected \"{EVENT_DETAIL_TYPE}\", \"{SCHEDULED_DEACTIVATED}\" or \"{EVENT_DEACTIVATED}\", got {}",
                    shown(other)
                ),
            )),
        }
    }

    /// Which event this is.
    pub fn kind(&self) -> EventKind {
        match self {
            IncomingEvent::FailedRun(_) => EventKind::FailedRun,
            IncomingEvent::SuccessfulRun(_) => EventKind::SuccessfulRun,
            IncomingEvent::Deactivation(_) => EventKind::Deactivation,
        }
    }

    /// The flow's name, `detail.flow-name`.
    pub fn flow_name(&self) -> &str {
        match self {
            IncomingEvent::FailedRun(e) | IncomingEvent::SuccessfulRun(e) => &e.flow_name,
            IncomingEvent::Deactivation(d) => &d.flow_name,
        }
    }

    /// The id its execution is named after: a run's execution id, a
    /// deactivation's [`DeactivationEvent::deactivation_id`].
    pub fn id(&self) -> String {
        match self {
            IncomingEvent::FailedRun(e) | IncomingEvent::SuccessfulRun(e) => e.execution_id.clone(),
            IncomingEvent::Deactivation(d) => d.deactivation_id(),
        }
    }
}

/// The start of every AppFlow event's checks: a JSON object from `aws.appflow`.
fn check_source(event: &Value) -> Result<(), EventError> {
    if !event.is_object() {
        return Err(EventError::new("(event)", "not a JSON object"));
    }
    let source = opt_str(event, "source")?;
    if source != Some(EVENT_SOURCE) {
        return Err(EventError::new(
            "source",
            format!("expected \"{EVENT_SOURCE}\", got {}", shown(source)),
        ));
    }
    Ok(())
}

/// The check of a run report's `detail.flow-name` and `detail.execution-id`
/// (docs/design.md §6.4), for the event parser and for the run records the
/// sweep turns into events: present, not blank, at most [`MAX_NAME_CHARS`]
/// characters. Returns the value trimmed; the error names `field`.
pub fn check_name<'a>(field: &str, value: Option<&'a str>) -> Result<&'a str, EventError> {
    match value.map(str::trim) {
        None => Err(EventError::new(field, "missing")),
        Some("") => Err(EventError::new(field, "is empty")),
        Some(v) if v.chars().count() > MAX_NAME_CHARS => Err(EventError::new(
            field,
            format!(
                "is {} characters; AppFlow's are at most {MAX_NAME_CHARS}",
                v.chars().count()
            ),
        )),
        Some(v) => Ok(v),
    }
}

/// The event's `detail`, which must be an object.
fn detail_object(event: &Value) -> Result<&Value, EventError> {
    match event.get("detail") {
        Some(d) if d.is_object() => Ok(d),
        _ => Err(EventError::new("detail", "missing or not an object")),
    }
}

fn opt_str<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, EventError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(EventError::new(
            key,
            format!("expected a string, got {}", json_kind(other)),
        )),
    }
}

/// An optional string field: another type is noted and ignored.
fn lenient_str(v: &Value, key: &str, notes: &mut Vec<EventNote>) -> Option<String> {
    match v.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            notes.push(EventNote {
                field: format!("detail.{key}"),
                note: format!("expected a string, got {}: ignored", json_kind(other)),
            });
            None
        }
    }
}

/// An optional time field: unreadable is noted and ignored.
fn lenient_time(v: &Value, key: &str, field: &str, notes: &mut Vec<EventNote>) -> Option<DateTime<Utc>> {
    let note = |notes: &mut Vec<EventNote>, note: String| {
        notes.push(EventNote {
            field: field.to_owned(),
            note,
        });
    };
    match v.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => match parse_time(s) {
            Ok(t) => Some(t),
            Err(e) => {
                note(notes, format!("{}: ignored", truncate_message(&e)));
                None
            }
        },
        Some(other) => {
            note(notes, format!("expected a time, got {}: ignored", json_kind(other)));
            None
        }
    }
}

/// A JSON value's kind, for messages (never the value: it may be huge).
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "nothing".to_owned(), |s| format!("\"{}\"", truncate_message(s)))
}

/// Parses an AppFlow time: RFC 3339, optionally followed by a zone name in
/// brackets as the event's times are (`2026-11-29T09:02:47.643Z[UTC]`).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let trimmed = match s.find('[') {
        Some(i) if s.ends_with(']') => &s[..i],
        _ => s,
    };
    DateTime::parse_from_rfc3339(trimmed)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("\"{s}\" is not an RFC 3339 time: {e}"))
}

/// `executionStatus` of a run record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// The run has not ended yet: rule 6 returns `FailedRunNotFinal` for such a failed run.
    InProgress,
    /// The run succeeded: it ends a failure streak (rule 7); a success report may be a recovery.
    Successful,
    /// The run failed: the only status a restart is decided for, and the one a streak counts.
    Error,
    /// A person asked to cancel the run: treated as cancelled (rule 6 skips).
    CancelStarted,
    /// The run was cancelled: rule 6 skips it, and it ends a failure streak.
    Canceled,
    /// A status AppFlow may add later, as sent; it ends a streak and is not final for rule 6.
    Other(String),
}

impl RunStatus {
    /// The status AppFlow's `executionStatus` text names (exact spelling; anything else is
    /// [`RunStatus::Other`]).
    pub fn parse(s: &str) -> Self {
        match s {
            "InProgress" => RunStatus::InProgress,
            "Successful" => RunStatus::Successful,
            "Error" => RunStatus::Error,
            "CancelStarted" => RunStatus::CancelStarted,
            "Canceled" => RunStatus::Canceled,
            other => RunStatus::Other(other.to_owned()),
        }
    }

    /// The status as AppFlow spells it; an unknown status as it was sent.
    pub fn as_str(&self) -> &str {
        match self {
            RunStatus::InProgress => "InProgress",
            RunStatus::Successful => "Successful",
            RunStatus::Error => "Error",
            RunStatus::CancelStarted => "CancelStarted",
            RunStatus::Canceled => "Canceled",
            RunStatus::Other(s) => s,
        }
    }
}

/// One run of a flow, as DescribeFlowExecutionRecords reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The run's id (`executionId`), the `execution-id` of its events.
    pub execution_id: String,
    /// The run's `executionStatus`.
    pub status: RunStatus,
    /// `startedAt`: when the run started; None when AppFlow gave none.
    pub started_at: Option<DateTime<Utc>>,
    /// `lastUpdatedAt`: when the record last changed (for an ended run, about when it ended);
    /// None when AppFlow gave none.
    pub last_updated_at: Option<DateTime<Utc>>,
    /// `executionResult.errorInfo.executionMessage`.
    pub message: Option<String>,
}

impl RunRecord {
    /// The record's time: `startedAt`, else `lastUpdatedAt`.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.started_at.or(self.last_updated_at)
    }
}

/// A history document that cannot be read, naming the record and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("history field `{field}`: {problem}")]
pub struct HistoryError {
    /// The field at fault as a path into the document, e.g. `flowExecutions[3].startedAt`.
    pub field: String,
    /// What is wrong with it, e.g. "expected a string, got 12".
    pub problem: String,
}

/// Parses `{"flowExecutions": [...]}` as the AWS CLI prints it; times are
/// ISO 8601 strings (CLI v2) or epoch seconds (CLI v1, raw API).
pub fn parse_history(doc: &Value) -> Result<Vec<RunRecord>, HistoryError> {
    let err = |field: String, problem: String| HistoryError { field, problem };
    let list = doc
        .get("flowExecutions")
        .and_then(Value::as_array)
        .ok_or_else(|| err("flowExecutions".into(), "missing or not a list".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, rec)| {
            let at = |name: &str| format!("flowExecutions[{i}].{name}");
            let string = |name: &str| match rec.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(err(at(name), format!("expected a string, got {other}"))),
            };
            let time = |name: &str| match rec.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => parse_time(s).map(Some).map_err(|e| err(at(name), e)),
                Some(Value::Number(n)) => n
                    .as_f64()
                    .and_then(epoch_seconds)
                    .map(Some)
                    .ok_or_else(|| err(at(name), format!("{n} is not a time in epoch seconds"))),
                Some(other) => Err(err(at(name), format!("expected a time, got {other}"))),
            };
            Ok(RunRecord {
                execution_id: string("executionId")?.ok_or_else(|| err(at("executionId"), "missing".into()))?,
                status: RunStatus::parse(&string("executionStatus")?.unwrap_or_default()),
                started_at: time("startedAt")?,
                last_updated_at: time("lastUpdatedAt")?,
                message: rec
                    .pointer("/executionResult/errorInfo/executionMessage")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// A time from epoch seconds with a fraction (millisecond precision).
pub fn epoch_seconds(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() {
        return None;
    }
    let millis = (secs * 1000.0).round();
    if millis.abs() > 1e15 {
        return None;
    }
    Utc.timestamp_millis_opt(millis as i64).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_types_are_read_in_any_case_and_unknown_ones_kept() {
        for (text, want) in [
            ("OnDemand", TriggerType::OnDemand),
            ("ONDEMAND", TriggerType::OnDemand),
            (" ondemand ", TriggerType::OnDemand),
            ("Scheduled", TriggerType::Scheduled),
            ("SCHEDULED", TriggerType::Scheduled),
            ("Event", TriggerType::Event),
            ("EVENT", TriggerType::Event),
            ("Streaming", TriggerType::Other("Streaming".into())),
        ] {
            assert_eq!(TriggerType::parse(text), want, "{text}");
            let json = serde_json::to_string(&want).unwrap();
            assert_eq!(serde_json::from_str::<TriggerType>(&json).unwrap(), want);
        }
        assert_eq!(TriggerType::OnDemand.to_string(), "OnDemand");
        assert_eq!(TriggerType::Other("Streaming".into()).to_string(), "Streaming");
        for t in [TriggerType::OnDemand, TriggerType::Scheduled, TriggerType::Event] {
            assert_eq!(TriggerType::parse(t.as_event_str()), t, "the event spelling reads back");
        }
        assert_eq!(TriggerType::OnDemand.as_event_str(), "ONDEMAND");
        assert!(TriggerType::Event.is_scheduled_or_event() && !TriggerType::OnDemand.is_scheduled_or_event());
    }
    use serde_json::json;

    fn failed_event() -> Value {
        json!({
            "source": "aws.appflow",
            "detail-type": "AppFlow End Flow Run Report",
            "time": "2026-11-29T09:06:21Z",
            "detail": {
                "flow-name": "salesforce-accounts",
                "execution-id": "9aa0",
                "trigger-type": "ONDEMAND",
                "num-of-records-processed": "0",
                "start-time": "2026-11-29T09:02:47.643Z[UTC]",
                "status": "Execution Failed",
                "error": "REQUEST_LIMIT_EXCEEDED"
            }
        })
    }

    #[test]
    fn reads_a_failed_run_report() {
        let e = FailureEvent::from_json(&failed_event()).unwrap();
        assert_eq!(e.flow_name, "salesforce-accounts");
        assert_eq!(e.execution_id, "9aa0");
        assert_eq!(e.start_time.unwrap().to_rfc3339(), "2026-11-29T09:02:47.643+00:00");
        assert_eq!(e.time.unwrap().to_rfc3339(), "2026-11-29T09:06:21+00:00");
        assert_eq!(e.error.as_deref(), Some("REQUEST_LIMIT_EXCEEDED"));
        assert!(e.is_on_demand());
    }

    fn deactivation_event() -> Value {
        json!({
            "version": "0",
            "id": "6f0e1c2a-0000-4000-8000-000000000001",
            "source": "aws.appflow",
            "detail-type": "AppFlow Scheduled Flow Deactivated",
            "time": "2026-11-29T09:06:21Z",
            "detail": {
                "flow-name": "nightly-orders",
                "flow-arn": "arn:aws:appflow:eu-west-1:123456789012:flow/nightly-orders",
                "deactivation-reason": "Flow deactivated after 3 consecutive failures: REQUEST_LIMIT_EXCEEDED"
            }
        })
    }

    #[test]
    fn the_documented_deactivation_time_names_the_deactivation() {
        // AWS documents `deactivation-time`: it wins over the envelope's time.
        let mut ev = deactivation_event();
        ev["detail"]["deactivation-time"] = json!("2026-11-29T09:05:58.000Z");
        let (e, notes) = DeactivationEvent::parse(&ev).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(e.time, Some(parse_time("2026-11-29T09:05:58Z").unwrap()));
        assert_eq!(e.deactivation_id(), "deactivated-20261129T090558Z");
        // Unreadable: noted, and the envelope's time names it.
        for odd in [json!("yesterday"), json!(1_764_406_000)] {
            ev["detail"]["deactivation-time"] = odd;
            let (e, notes) = DeactivationEvent::parse(&ev).unwrap();
            assert_eq!(e.deactivation_id(), "deactivated-20261129T090621Z");
            assert_eq!(notes[0].field, "detail.deactivation-time", "{notes:?}");
        }
    }

    #[test]
    fn reads_a_deactivation_event() {
        let (e, notes) = DeactivationEvent::parse(&deactivation_event()).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(e.flow_name, "nightly-orders");
        assert_eq!(e.kind, DeactivatedKind::Scheduled);
        assert_eq!(e.reason_field, Some("deactivation-reason"));
        assert!(e.reason.as_deref().unwrap().contains("REQUEST_LIMIT_EXCEEDED"));
        assert_eq!(e.deactivation_id(), "deactivated-20261129T090621Z");
        assert!(is_deactivation(&deactivation_event()));
        assert!(!is_deactivation(&failed_event()));

        // Other reason spellings; odd types degrade; none at all is noted.
        let mut ev = deactivation_event();
        ev["detail-type"] = json!(EVENT_DEACTIVATED);
        ev["detail"].as_object_mut().unwrap().remove("deactivation-reason");
        ev["detail"]["reason"] = json!({"code": "X"});
        let (e, notes) = DeactivationEvent::parse(&ev).unwrap();
        assert_eq!((e.kind, e.reason_field), (DeactivatedKind::Event, Some("reason")));
        assert_eq!(e.reason.as_deref(), Some(r#"{"code":"X"}"#));
        assert_eq!(notes[0].field, "detail.reason");
        ev["detail"].as_object_mut().unwrap().remove("reason");
        let (e, notes) = DeactivationEvent::parse(&ev).unwrap();
        assert_eq!(e.reason, None);
        assert_eq!(notes.last().unwrap().field, "detail");

        // Without a time, the event id names the deactivation, stably.
        let mut ev = deactivation_event();
        ev["time"] = json!("soon");
        let (e, _) = DeactivationEvent::parse(&ev).unwrap();
        assert_eq!(
            e.deactivation_id(),
            DeactivationEvent::parse(&ev).unwrap().0.deactivation_id()
        );
        assert!(
            e.deactivation_id().starts_with("deactivated-"),
            "{}",
            e.deactivation_id()
        );
    }

    #[test]
    fn a_deactivation_event_names_the_field_at_fault() {
        let cases: [(&str, Value, &str); 6] = [
            ("/source", json!("aws.s3"), "source"),
            ("/detail-type", json!("AppFlow End Flow Run Report"), "detail-type"),
            ("/detail", json!(3), "detail"),
            ("/detail/flow-name", json!(""), "detail.flow-name"),
            ("/detail/flow-name", json!(["a"]), "detail.flow-name"),
            (
                "/detail/flow-name",
                json!("f".repeat(MAX_NAME_CHARS + 1)),
                "detail.flow-name",
            ),
        ];
        for (pointer, value, field) in cases {
            let mut e = deactivation_event();
            *e.pointer_mut(pointer).unwrap() = value;
            assert_eq!(DeactivationEvent::parse(&e).unwrap_err().field, field, "{pointer}");
        }
        let mut e = deactivation_event();
        e["time"] = json!(null);
        e["id"] = json!("");
        assert_eq!(DeactivationEvent::parse(&e).unwrap_err().field, "time");
    }

    #[test]
    fn names_the_field_at_fault() {
        let long = "f".repeat(MAX_NAME_CHARS + 1);
        let cases: [(&str, Value, &str); 9] = [
            ("/source", json!("aws.s3"), "source"),
            ("/source", json!(7), "source"),
            ("/detail-type", json!("Other"), "detail-type"),
            ("/detail", json!("x"), "detail"),
            ("/detail/flow-name", Value::Null, "detail.flow-name"),
            ("/detail/flow-name", json!({"a": 1}), "detail.flow-name"),
            ("/detail/flow-name", json!(long), "detail.flow-name"),
            ("/detail/execution-id", json!(""), "detail.execution-id"),
            ("/detail/status", json!("Execution Successful"), "detail.status"),
        ];
        for (pointer, value, field) in cases {
            let mut e = failed_event();
            *e.pointer_mut(pointer).unwrap() = value;
            assert_eq!(FailureEvent::from_json(&e).unwrap_err().field, field, "{pointer}");
        }
        let mut e = failed_event();
        e.as_object_mut().unwrap().remove("detail");
        assert_eq!(FailureEvent::from_json(&e).unwrap_err().field, "detail");
        assert_eq!(FailureEvent::from_json(&json!([])).unwrap_err().field, "(event)");
        let mut e = failed_event();
        e["detail"]["start-time"] = json!("yesterday");
        e["time"] = json!(12);
        assert_eq!(FailureEvent::from_json(&e).unwrap_err().field, "detail.start-time");
    }

    #[test]
    fn odd_optional_fields_are_degraded_and_noted() {
        let mut e = failed_event();
        e["detail"]["error"] = json!({"code": 500, "text": "boom"});
        e["detail"]["start-time"] = json!("yesterday");
        e["detail"]["trigger-type"] = json!(["ONDEMAND"]);
        e["detail"]["status"] = json!(false);
        let (event, notes) = FailureEvent::parse(&e).unwrap();
        assert_eq!(event.error.as_deref(), Some(r#"{"code":500,"text":"boom"}"#));
        assert_eq!(event.start_time, None, "falls back to the envelope's time");
        assert_eq!((event.trigger_type, event.status), (None, None));
        let fields: Vec<&str> = notes.iter().map(|n| n.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "detail.status",
                "detail.start-time",
                "detail.error",
                "detail.trigger-type"
            ]
        );
        let mut e = failed_event();
        e["detail"]["error"] = json!(42);
        assert_eq!(FailureEvent::from_json(&e).unwrap().error.as_deref(), Some("42"));
    }

    #[test]
    fn huge_messages_are_cut_on_a_character_boundary() {
        let mut e = failed_event();
        e["detail"]["error"] = json!("é".repeat(300_000));
        let error = FailureEvent::from_json(&e).unwrap().error.unwrap();
        assert!(error.len() <= MAX_MESSAGE_BYTES, "{}", error.len());
        assert!(
            error.ends_with("[truncated: 600000 bytes in all]"),
            "{}",
            &error[error.len() - 60..]
        );
        assert_eq!(truncate_message("short"), "short");
    }

    #[test]
    fn a_success_report_parses_only_as_a_success() {
        let mut e = failed_event();
        let err = FailureEvent::parse_success(&e).unwrap_err();
        assert_eq!(err.field, "detail.status");
        e["detail"]["status"] = json!(STATUS_SUCCESSFUL);
        let (ok, _) = FailureEvent::parse_success(&e).unwrap();
        assert_eq!(ok.status.as_deref(), Some(STATUS_SUCCESSFUL));
        assert_eq!(FailureEvent::parse(&e).unwrap_err(), EventError::not_a_failed_run());
    }

    #[test]
    fn one_parse_tells_the_three_kinds_apart() {
        let (failed, notes) = IncomingEvent::parse(&failed_event()).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            failed,
            IncomingEvent::FailedRun(FailureEvent::from_json(&failed_event()).unwrap())
        );
        assert_eq!(
            (failed.kind(), failed.flow_name(), failed.id().as_str()),
            (EventKind::FailedRun, "salesforce-accounts", "9aa0")
        );

        let mut success = failed_event();
        success["detail"]["status"] = json!(STATUS_SUCCESSFUL);
        let (ok, _) = IncomingEvent::parse(&success).unwrap();
        assert_eq!(
            ok,
            IncomingEvent::SuccessfulRun(FailureEvent::parse_success(&success).unwrap().0)
        );
        assert_eq!((ok.kind().as_str(), ok.id().as_str()), ("successful run", "9aa0"));

        // Any other status, an odd one or none is a failed run, as FailureEvent::parse reads it.
        for status in [json!("Execution Canceled"), json!(false), Value::Null] {
            let mut e = failed_event();
            e["detail"]["status"] = status.clone();
            assert_eq!(
                IncomingEvent::parse(&e).unwrap().0.kind(),
                EventKind::FailedRun,
                "{status}"
            );
        }

        let (deactivation, notes) = IncomingEvent::parse(&deactivation_event()).unwrap();
        assert_eq!(notes, DeactivationEvent::parse(&deactivation_event()).unwrap().1);
        assert_eq!(
            (
                deactivation.kind(),
                deactivation.flow_name(),
                deactivation.id().as_str()
            ),
            (
                EventKind::Deactivation,
                "nightly-orders",
                "deactivated-20261129T090621Z"
            )
        );
    }

    #[test]
    fn one_parse_names_the_field_at_fault_as_each_parser_does() {
        // The failed-run cases of `names_the_field_at_fault`, but a success status is no fault.
        let field = |e: &Value| IncomingEvent::parse(e).unwrap_err().field;
        let mut e = failed_event();
        e["detail"]["execution-id"] = json!(" ");
        assert_eq!(field(&e), "detail.execution-id");
        e["detail"]["status"] = json!(STATUS_SUCCESSFUL);
        assert_eq!(
            field(&e),
            "detail.execution-id",
            "a success report is checked as strictly"
        );
        let mut e = deactivation_event();
        e["detail"]["flow-name"] = json!("");
        assert_eq!(field(&e), "detail.flow-name");
        let mut e = failed_event();
        e["source"] = json!("aws.s3");
        assert_eq!(field(&e), "source");
        assert_eq!(field(&json!("text")), "(event)");
        let mut e = failed_event();
        e["detail-type"] = json!("AppFlow Flow Started");
        let err = IncomingEvent::parse(&e).unwrap_err();
        assert_eq!(err.field, "detail-type");
        assert!(err.problem.contains(SCHEDULED_DEACTIVATED), "{err}");
        e["detail-type"] = json!(3);
        assert_eq!(field(&e), "detail-type");
    }

    #[test]
    fn cancel_statuses_are_recognised() {
        for (status, cancelled) in [
            ("Execution Canceled", true),
            ("Execution Cancelled", true),
            ("CancelStarted", true),
            ("Execution Failed", false),
        ] {
            let mut e = failed_event();
            e["detail"]["status"] = json!(status);
            assert_eq!(
                FailureEvent::from_json(&e).unwrap().is_cancelled(),
                cancelled,
                "{status}"
            );
        }
    }

    #[test]
    fn empty_error_and_trigger_type_are_absent() {
        let mut e = failed_event();
        e["detail"]["error"] = json!("");
        e["detail"]["trigger-type"] = json!("");
        let e = FailureEvent::from_json(&e).unwrap();
        assert_eq!(e.error, None);
        assert!(e.is_on_demand());
        let mut e = failed_event();
        e["detail"]["trigger-type"] = json!("Scheduled");
        assert!(!FailureEvent::from_json(&e).unwrap().is_on_demand());
    }

    #[test]
    fn history_accepts_iso_strings_and_epoch_seconds() {
        let doc = json!({"flowExecutions": [
            {"executionId": "a", "executionStatus": "Error", "startedAt": "2026-11-29T09:02:47.643000+00:00",
             "executionResult": {"errorInfo": {"executionMessage": "boom"}}},
            {"executionId": "b", "executionStatus": "Successful", "startedAt": 1795942967.643},
            {"executionId": "c", "executionStatus": "Weird", "lastUpdatedAt": 1795942967}
        ]});
        let recs = parse_history(&doc).unwrap();
        assert_eq!(recs[0].message.as_deref(), Some("boom"));
        assert_eq!(recs[0].started_at, recs[1].started_at);
        assert_eq!(recs[2].status, RunStatus::Other("Weird".into()));
        assert_eq!(recs[2].time().unwrap().timestamp(), 1_795_942_967);
        let bad = json!({"flowExecutions": [{"executionId": "a", "startedAt": "noon"}]});
        assert_eq!(parse_history(&bad).unwrap_err().field, "flowExecutions[0].startedAt");
        assert_eq!(parse_history(&json!({})).unwrap_err().field, "flowExecutions");
    }
}
