//! The EventBridge events AppFlow sends, as the emulator records them: the
//! end-of-run report and the deactivation notice.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{ACCOUNT, REGION, Run, TriggerType, flow_arn};

/// The EventBridge event AppFlow sends when a run ends.
pub fn end_flow_run_report(flow: &str, trigger: TriggerType, run: &Run, ended: DateTime<Utc>) -> Value {
    let ok = run.status == "Successful";
    let fmt = |t: DateTime<Utc>| format!("{}[UTC]", t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let mut detail = json!({
        "flow-name": flow,
        "flow-arn": flow_arn(flow),
        "source": "SALESFORCE/emulated",
        "destination": "S3",
        "source-object": "Account",
        "destination-object": "s3://emulated/landing",
        "trigger-type": trigger.as_event_str(),
        "execution-id": run.execution_id,
        "num-of-records-processed": if ok { "100" } else { "0" },
        "num-of-records-filtered": "0",
        "num-of-record-failures": "0",
        "data-processed": if ok { "2048" } else { "0" },
        "start-time": run.started_at.map(fmt),
        "end-time": fmt(ended),
        "status": if ok { "Execution Successful" } else { "Execution Failed" },
    });
    if let (false, Some(message), Some(obj)) = (ok, &run.message, detail.as_object_mut()) {
        obj.insert("error".into(), json!(message));
    }
    json!({
        "version": "0",
        "id": format!("event-{}", run.execution_id),
        "detail-type": "AppFlow End Flow Run Report",
        "source": "aws.appflow",
        "account": ACCOUNT,
        "time": ended.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("{:032x}", flow.len())],
        "detail": detail,
    })
}

/// The event AppFlow sends when it deactivates a scheduled or event flow.
/// AWS documents the detail type and that the payload holds the reason, not
/// the field's name: the emulator sends `deactivation-reason`, and the
/// documented `deactivation-time`.
pub fn flow_deactivated(flow: &str, trigger: TriggerType, at: DateTime<Utc>) -> Value {
    let (detail_type, reason) = match trigger {
        TriggerType::Event => (
            "AppFlow Event Flow Deactivated",
            "The event-triggered flow was deactivated after a failed run".to_owned(),
        ),
        _ => (
            "AppFlow Scheduled Flow Deactivated",
            "The scheduled flow was deactivated after reaching its flowErrorDeactivationThreshold of consecutive failed runs".to_owned(),
        ),
    };
    json!({
        "version": "0",
        "id": format!("deactivated-{flow}-{}", at.timestamp()),
        "detail-type": detail_type,
        "source": "aws.appflow",
        "account": ACCOUNT,
        "time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("{:032x}", flow.len())],
        "detail": {
            "flow-name": flow,
            "flow-arn": flow_arn(flow),
            "deactivation-reason": reason,
            "deactivation-time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
    })
}
