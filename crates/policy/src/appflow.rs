//! The AppFlow data a decision reads, as plain domain types: the EventBridge
//! "AppFlow End Flow Run Report" event and the flow's run records.
//!
//! These parse the JSON shapes AWS sends (not SDK types): the Lambda and the
//! CLI read the same event through [`FailureEvent::from_json`]; the AWS
//! adapter builds [`RunRecord`]s from SDK output, the CLI from
//! `aws appflow describe-flow-execution-records` output through [`parse_history`].

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

pub const EVENT_SOURCE: &str = "aws.appflow";
pub const EVENT_DETAIL_TYPE: &str = "AppFlow End Flow Run Report";
pub const STATUS_SUCCESSFUL: &str = "Execution Successful";

/// An event that cannot be handled, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event field `{field}`: {problem}")]
pub struct EventError {
    pub field: String,
    pub problem: String,
}

impl EventError {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        EventError {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// A failed flow run as its EventBridge event reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureEvent {
    pub flow_name: String,
    pub execution_id: String,
    /// `detail.trigger-type` as sent (`ONDEMAND`, `SCHEDULED`, `EVENT`); None when absent.
    pub trigger_type: Option<String>,
    pub status: Option<String>,
    /// `detail.error`; None when absent or empty.
    pub error: Option<String>,
    /// `detail.start-time`.
    pub start_time: Option<DateTime<Utc>>,
    /// The envelope's `time`.
    pub time: Option<DateTime<Utc>>,
}

impl FailureEvent {
    /// Reads a whole EventBridge event.
    pub fn from_json(event: &Value) -> Result<Self, EventError> {
        if !event.is_object() {
            return Err(EventError::new("(event)", "not a JSON object"));
        }
        let time = opt_str(event, "time")?
            .map(|t| parse_time(t).map_err(|e| EventError::new("time", e)))
            .transpose()?;
        let detail = event.get("detail").unwrap_or(&Value::Null);
        Self::from_parts(opt_str(event, "source")?, opt_str(event, "detail-type")?, time, detail)
    }

    /// Reads an event whose envelope was already parsed (as the Lambda's
    /// `aws_lambda_events` type does): checks the source and detail type,
    /// then reads `detail`.
    pub fn from_parts(
        source: Option<&str>,
        detail_type: Option<&str>,
        time: Option<DateTime<Utc>>,
        detail: &Value,
    ) -> Result<Self, EventError> {
        if source != Some(EVENT_SOURCE) {
            return Err(EventError::new(
                "source",
                format!("expected \"{EVENT_SOURCE}\", got {}", shown(source)),
            ));
        }
        if detail_type != Some(EVENT_DETAIL_TYPE) {
            return Err(EventError::new(
                "detail-type",
                format!("expected \"{EVENT_DETAIL_TYPE}\", got {}", shown(detail_type)),
            ));
        }
        if !detail.is_object() {
            return Err(EventError::new("detail", "missing or not an object"));
        }
        Self::from_detail(detail, time)
    }

    /// Reads the event's `detail` object; `time` is the envelope's time.
    pub fn from_detail(detail: &Value, time: Option<DateTime<Utc>>) -> Result<Self, EventError> {
        let field = |name: &str| format!("detail.{name}");
        let get = |name: &str| opt_str(detail, name).map_err(|e| EventError::new(&field(name), e.problem));
        let required = |name: &str| -> Result<String, EventError> {
            match get(name)? {
                Some(v) if !v.trim().is_empty() => Ok(v.to_owned()),
                Some(_) => Err(EventError::new(&field(name), "is empty")),
                None => Err(EventError::new(&field(name), "missing")),
            }
        };
        let flow_name = required("flow-name")?;
        let execution_id = required("execution-id")?;
        let status = get("status")?.map(str::to_owned);
        if status.as_deref() == Some(STATUS_SUCCESSFUL) {
            return Err(EventError::new(
                &field("status"),
                format!("\"{STATUS_SUCCESSFUL}\" is not a failed run (check the EventBridge rule)"),
            ));
        }
        let start_time = get("start-time")?
            .filter(|s| !s.is_empty())
            .map(|t| parse_time(t).map_err(|e| EventError::new(&field("start-time"), e)))
            .transpose()?;
        if start_time.is_none() && time.is_none() {
            return Err(EventError::new(
                &field("start-time"),
                "missing, and the event has no `time`",
            ));
        }
        Ok(FailureEvent {
            flow_name,
            execution_id,
            trigger_type: get("trigger-type")?.map(str::to_owned),
            status,
            error: get("error")?.filter(|e| !e.is_empty()).map(str::to_owned),
            start_time,
            time,
        })
    }

    /// Whether the run can be restarted with StartFlow: on-demand, or the
    /// trigger type is missing or empty (the restart re-checks with DescribeFlow).
    pub fn is_on_demand(&self) -> bool {
        match self.trigger_type.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(t) => t.eq_ignore_ascii_case("ONDEMAND"),
        }
    }
}

fn opt_str<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, EventError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(EventError::new(key, format!("expected a string, got {other}"))),
    }
}

fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "nothing".to_owned(), |s| format!("\"{s}\""))
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
    InProgress,
    Successful,
    Error,
    CancelStarted,
    Canceled,
    Other(String),
}

impl RunStatus {
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
    pub execution_id: String,
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
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
    pub field: String,
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

    #[test]
    fn names_the_field_at_fault() {
        let cases: [(&str, Value, &str); 7] = [
            ("/source", json!("aws.s3"), "source"),
            ("/detail-type", json!("Other"), "detail-type"),
            ("/detail/flow-name", Value::Null, "detail.flow-name"),
            ("/detail/execution-id", json!(""), "detail.execution-id"),
            ("/detail/start-time", json!("yesterday"), "detail.start-time"),
            ("/detail/error", json!(42), "detail.error"),
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
