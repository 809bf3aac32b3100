//! The REST-JSON handlers of the four AppFlow operations, with the fault
//! injection and call recording every operation shares.

use std::collections::VecDeque;
use std::time::Duration;

use appflow_retry_policy::SplitMix64;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{
    Authorization, Call, Clock, Fault, Flow, Operation, RecordOrder, Run, RunOutcome, Shared, TriggerType,
    end_flow_run_report, flow_arn, iam,
};

/// DescribeFlow's `triggerConfig`, with the deactivation threshold of a scheduled flow.
fn trigger_config(f: &Flow) -> Value {
    let mut config = json!({ "triggerType": f.trigger.as_str() });
    if f.trigger == TriggerType::Scheduled {
        let mut scheduled = json!({ "scheduleExpression": "rate(1hours)" });
        if let Some(n) = f.deactivation_threshold {
            scheduled["flowErrorDeactivationThreshold"] = json!(n);
        }
        config["triggerProperties"] = json!({ "Scheduled": scheduled });
    }
    config
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-ErrorType", v);
    }
    (status, headers, axum::Json(json!({ "message": message }))).into_response()
}

fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// AppFlow's answer to a request IAM refuses, when the emulator enforces
/// IAM (`crate::iam`); the decision is recorded.
fn authorize(
    state: &Shared,
    op: Operation,
    headers: &HeaderMap,
    flow: Option<&str>,
) -> Option<(StatusCode, &'static str, String)> {
    let mut inner = state.lock();
    let principals = inner.iam.as_ref()?;
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let key = authorization
        .and_then(iam::access_key_id)
        .unwrap_or_default()
        .to_owned();
    let (action, resource) = (op.iam_action(), op.iam_resource(flow.unwrap_or_default()));
    let principal = principals.get(&key).map(|(arn, _)| arn.clone());
    let refusal = match principals.get(&key) {
        _ if authorization.is_none() => Some((
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token".to_owned(),
        )),
        None => Some((
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".to_owned(),
        )),
        Some((arn, policies)) => match iam::evaluate(policies, action, &resource) {
            iam::Verdict::Allowed => None,
            iam::Verdict::ImplicitDeny => Some((
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                format!(
                    "User: {arn} is not authorized to perform: {action} on resource: {resource} \
                     because no identity-based policy allows the {action} action"
                ),
            )),
            iam::Verdict::ExplicitDeny => Some((
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                format!(
                    "User: {arn} is not authorized to perform: {action} on resource: {resource} \
                     with an explicit deny in an identity-based policy"
                ),
            )),
        },
    };
    inner.authorizations.push(Authorization {
        access_key_id: key,
        principal,
        action: action.to_owned(),
        resource,
        allowed: refusal.is_none(),
    });
    refusal
}

/// Authorizes the request (when IAM is enforced), parses its body and takes
/// the operation's next fault, if any; the flag says whether the reply is
/// to be lost ([`Fault::LoseReply`]).
async fn begin(state: &Shared, op: Operation, headers: &HeaderMap, body: &Bytes) -> Result<(Value, bool), Response> {
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let field = |name: &str| {
        parsed
            .as_ref()
            .ok()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (flow, client_token) = (field("flowName"), field("clientToken"));
    let fail = |status: StatusCode, code: &str, msg: &str| {
        state.lock().calls.push(Call {
            operation: op,
            flow: flow.clone(),
            client_token: client_token.clone(),
            status: status.as_u16(),
        });
        error(status, code, msg)
    };
    // AWS authenticates and authorizes before anything else.
    if let Some((status, code, message)) = authorize(state, op, headers, flow.as_deref()) {
        return Err(fail(status, code, &message));
    }
    let fault = state.lock().faults.get_mut(&op).and_then(VecDeque::pop_front);
    if let Some((status, code, message)) = fault.and_then(fault_error) {
        return Err(fail(status, code, message));
    }
    if let Some(Fault::SlowMs(ms)) = fault {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let lose = fault == Some(Fault::LoseReply);
    let value = parsed.map_err(|e| fail(StatusCode::BAD_REQUEST, "ValidationException", &e.to_string()))?;
    if flow.is_none() && op != Operation::ListFlows {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "flowName is required",
        ));
    }
    Ok((value, lose))
}

/// The error reply AppFlow gives for an injected fault that is one: status,
/// `__type` code and message, as AWS sends them.
fn fault_error(fault: Fault) -> Option<(StatusCode, &'static str, &'static str)> {
    match fault {
        Fault::Throttle => Some((StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Rate exceeded")),
        Fault::ServerError => Some((
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "An internal error occurred",
        )),
        Fault::QuotaExceeded => Some((
            StatusCode::PAYMENT_REQUIRED,
            "ServiceQuotaExceededException",
            "The request would cause a service quota to be exceeded",
        )),
        Fault::Conflict => Some((
            StatusCode::CONFLICT,
            "ConflictException",
            "There was a conflict when processing the request",
        )),
        Fault::SlowMs(_) | Fault::LoseReply => None,
    }
}

fn finish(
    state: &Shared,
    op: Operation,
    flow: &str,
    token: Option<String>,
    lose: bool,
    response: Response,
) -> Response {
    let response = if lose {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "An internal error occurred (the reply was lost)",
        )
    } else {
        response
    };
    state.lock().calls.push(Call {
        operation: op,
        flow: (op != Operation::ListFlows).then(|| flow.to_owned()),
        client_token: token,
        status: response.status().as_u16(),
    });
    response
}

fn not_found(flow: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        &format!("Flow {flow} does not exist"),
    )
}

pub(crate) async fn start_flow(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let (req, lose) = match begin(&state, Operation::StartFlow, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let flow = req["flowName"].as_str().unwrap_or_default().to_owned();
    let token = req.get("clientToken").and_then(Value::as_str).map(str::to_owned);
    let response = {
        let mut guard = state.lock();
        let inner = &mut *guard;
        let now = match inner.clock {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => t,
        };
        match inner.flows.get_mut(&flow) {
            None => not_found(&flow),
            // StartFlow on a deactivated scheduled or event flow re-activates it.
            Some(f) if f.status == "Suspended" && f.trigger != TriggerType::OnDemand => {
                f.status = "Active".into();
                f.consecutive_failures = 0;
                if let Some(t) = token.clone() {
                    let id = format!("{:08x}-0000-4000-8000-{:012x}", inner.next_id, inner.next_id);
                    inner.next_id += 1;
                    inner.tokens.entry((flow.clone(), t)).or_insert(id);
                }
                axum::Json(json!({ "flowArn": flow_arn(&flow), "flowStatus": "Active" })).into_response()
            }
            Some(f) if f.status != "Active" => error(
                StatusCode::CONFLICT,
                "ConflictException",
                &format!("Flow {} is {}, not Active", f.name, f.status),
            ),
            Some(f) => {
                let key = token.clone().map(|t| (flow.clone(), t));
                let existing = key.as_ref().and_then(|k| inner.tokens.get(k)).cloned();
                let execution_id = match existing {
                    Some(id) => id,
                    None => {
                        let id = format!("{:08x}-0000-4000-8000-{:012x}", inner.next_id, inner.next_id);
                        inner.next_id += 1;
                        if f.trigger == TriggerType::OnDemand {
                            let outcome = f.script.pop_front().unwrap_or(RunOutcome::Succeed);
                            let ended = now + inner.run_duration;
                            let run = Run {
                                execution_id: id.clone(),
                                status: match outcome {
                                    RunOutcome::Succeed => "Successful".into(),
                                    RunOutcome::Fail(_) => "Error".into(),
                                },
                                started_at: Some(now),
                                last_updated_at: Some(ended),
                                message: match outcome {
                                    RunOutcome::Succeed => None,
                                    RunOutcome::Fail(m) => Some(m),
                                },
                            };
                            inner
                                .events
                                .push(end_flow_run_report(&flow, f.trigger.clone(), &run, ended));
                            f.history.push(run);
                        }
                        if let Some(k) = key {
                            inner.tokens.insert(k, id.clone());
                        }
                        id
                    }
                };
                // For scheduled and event flows StartFlow only activates the
                // trigger: AWS returns no execution id.
                let mut body = json!({ "flowArn": flow_arn(&flow), "flowStatus": "Active" });
                if f.trigger == TriggerType::OnDemand {
                    body["executionId"] = json!(execution_id);
                }
                axum::Json(body).into_response()
            }
        }
    };
    finish(&state, Operation::StartFlow, &flow, token, lose, response)
}

pub(crate) async fn describe_flow(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let (req, lose) = match begin(&state, Operation::DescribeFlow, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let flow = req["flowName"].as_str().unwrap_or_default().to_owned();
    let response = match state.lock().flows.get(&flow) {
        None => not_found(&flow),
        Some(f) => axum::Json(json!({
            "flowArn": flow_arn(&f.name),
            "flowName": f.name,
            "flowStatus": f.status,
            "description": "emulated flow",
            "triggerConfig": trigger_config(f),
            "createdAt": 1_700_000_000.0,
            "lastUpdatedAt": 1_700_000_000.0,
        }))
        .into_response(),
    };
    finish(&state, Operation::DescribeFlow, &flow, None, lose, response)
}

pub(crate) async fn describe_records(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let (req, lose) = match begin(&state, Operation::DescribeFlowExecutionRecords, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let flow = req["flowName"].as_str().unwrap_or_default().to_owned();
    let Some((start, max)) = page(&req, "offset-") else {
        let r = invalid_next_token();
        return finish(&state, Operation::DescribeFlowExecutionRecords, &flow, None, lose, r);
    };
    let response = {
        let inner = state.lock();
        match inner.flows.get(&flow) {
            None => not_found(&flow),
            Some(f) => {
                let mut runs = f.history.clone();
                order(&mut runs, inner.order);
                let page: Vec<Value> = runs.iter().skip(start).take(max).map(record_json).collect();
                let mut body = json!({ "flowExecutions": page });
                if start + max < runs.len() {
                    body["nextToken"] = json!(format!("offset-{}", start + max));
                }
                axum::Json(body).into_response()
            }
        }
    };
    finish(
        &state,
        Operation::DescribeFlowExecutionRecords,
        &flow,
        None,
        lose,
        response,
    )
}

/// The page a list request asks for: (offset, `maxResults` clamped to
/// 1–100, default 100). The offset comes from a `nextToken` this emulator
/// made (`<prefix><offset>`); None for any other token.
fn page(req: &Value, token_prefix: &str) -> Option<(usize, usize)> {
    let max = req
        .get("maxResults")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let start = match req.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => t.strip_prefix(token_prefix)?.parse().ok()?,
    };
    Some((start, max))
}

fn invalid_next_token() -> Response {
    error(StatusCode::BAD_REQUEST, "ValidationException", "invalid nextToken")
}

/// ListFlows: every flow by name, `maxResults` (1–100, default 100) a page.
pub(crate) async fn list_flows(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let (req, lose) = match begin(&state, Operation::ListFlows, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some((start, max)) = page(&req, "flows-") else {
        return finish(&state, Operation::ListFlows, "", None, lose, invalid_next_token());
    };
    let response = {
        let inner = state.lock();
        let page: Vec<Value> = inner
            .flows
            .values()
            .skip(start)
            .take(max)
            .map(flow_definition)
            .collect();
        let mut body = json!({ "flows": page });
        if start + max < inner.flows.len() {
            body["nextToken"] = json!(format!("flows-{}", start + max));
        }
        axum::Json(body).into_response()
    };
    finish(&state, Operation::ListFlows, "", None, lose, response)
}

/// A flow as ListFlows lists it; `lastRunExecutionDetails` is its newest run's.
fn flow_definition(f: &Flow) -> Value {
    let mut v = json!({
        "flowArn": flow_arn(&f.name),
        "flowName": f.name,
        "flowStatus": f.status,
        "description": "emulated flow",
        "sourceConnectorType": "Salesforce",
        "destinationConnectorType": "S3",
        "triggerType": f.trigger.as_str(),
        "createdAt": 1_700_000_000.0,
        "lastUpdatedAt": 1_700_000_000.0,
    });
    let key = |r: &&Run| r.started_at.or(r.last_updated_at);
    if let Some(last) = f.history.iter().max_by_key(key) {
        let mut details = json!({ "mostRecentExecutionStatus": last.status });
        if let Some(t) = last.started_at.or(last.last_updated_at) {
            details["mostRecentExecutionTime"] = epoch(t);
        }
        if let Some(m) = &last.message {
            details["mostRecentExecutionMessage"] = json!(m);
        }
        v["lastRunExecutionDetails"] = details;
    }
    v
}

fn order(runs: &mut [Run], order: RecordOrder) {
    let key = |r: &Run| r.started_at.or(r.last_updated_at);
    match order {
        RecordOrder::NewestFirst => runs.sort_by_key(|r| std::cmp::Reverse(key(r))),
        RecordOrder::OldestFirst => runs.sort_by_key(key),
        RecordOrder::Shuffled(seed) => {
            runs.sort_by_key(key);
            // Fisher-Yates: deterministic for a seed.
            let mut rng = SplitMix64::new(seed);
            for i in (1..runs.len()).rev() {
                runs.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
        }
    }
}

fn record_json(r: &Run) -> Value {
    let mut v = json!({
        "executionId": r.execution_id,
        "executionStatus": r.status,
        "executionResult": { "bytesProcessed": 0, "bytesWritten": 0, "recordsProcessed": 0 },
    });
    if let Some(t) = r.started_at {
        v["startedAt"] = epoch(t);
    }
    if let Some(t) = r.last_updated_at {
        v["lastUpdatedAt"] = epoch(t);
    }
    if let Some(m) = &r.message {
        v["executionResult"]["errorInfo"] = json!({ "putFailuresCount": 0, "executionMessage": m });
    }
    v
}
