//! A local Amazon AppFlow for tests and the demo.
//!
//! No other emulator implements AppFlow, so this one speaks AppFlow's real
//! REST-JSON wire protocol for the four operations appflow-retry calls —
//! `POST /start-flow`, `POST /describe-flow`, `POST /describe-flow-execution-records`,
//! `POST /list-flows` (with `lastRunExecutionDetails` derived from each
//! flow's runs) — so that `aws-sdk-appflow` (its serializers, error parsing and retry
//! classification) is exercised for real. Flows are scripted: each has a
//! trigger type, a status, a run history, and the outcomes of the runs that
//! StartFlow will start. Faults can be injected per operation: throttling
//! (HTTP 429 `ThrottlingException`), internal errors (HTTP 500) and slow replies.
//!
//! Deactivation: a scheduled flow with a `flowErrorDeactivationThreshold`
//! (and every event flow, threshold 1) that fails that many runs in a row
//! becomes `Suspended` and an "AppFlow Scheduled/Event Flow Deactivated"
//! event is recorded (`take_events`); StartFlow on such a flow re-activates
//! it (`Active`) without starting a run, as AWS does.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use appflow_retry_policy::SplitMix64;
/// How a flow is triggered: the domain's type, so the emulator and the
/// service read and write the same spellings.
pub use appflow_retry_policy::TriggerType;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The AppFlow operations the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    StartFlow,
    DescribeFlow,
    DescribeFlowExecutionRecords,
    ListFlows,
}

/// What a run started by StartFlow does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunOutcome {
    Succeed,
    /// Fails with this message (`executionResult.errorInfo.executionMessage`).
    Fail(String),
}

/// One run in a flow's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub execution_id: String,
    /// `InProgress`, `Successful`, `Error`, `CancelStarted`, `Canceled`.
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub last_updated_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
}

/// A scripted flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub name: String,
    pub trigger: TriggerType,
    /// `Active`, `Deprecated`, `Deleted`, `Draft`, `Errored`, `Suspended`.
    pub status: String,
    /// Outcomes of the runs StartFlow will start, in order; when empty, runs succeed.
    pub script: VecDeque<RunOutcome>,
    pub history: Vec<Run>,
    /// Scheduled flows: `flowErrorDeactivationThreshold` (None: never
    /// deactivated). Event flows are deactivated on every failure.
    #[serde(default)]
    pub deactivation_threshold: Option<u32>,
    /// Failed runs in a row since the flow was last activated or succeeded.
    #[serde(default)]
    pub consecutive_failures: u32,
}

impl Flow {
    /// An active on-demand flow with no history whose runs succeed.
    pub fn on_demand(name: &str) -> Self {
        Flow {
            name: name.to_owned(),
            trigger: TriggerType::OnDemand,
            status: "Active".into(),
            script: VecDeque::new(),
            history: Vec::new(),
            deactivation_threshold: None,
            consecutive_failures: 0,
        }
    }

    /// A scheduled flow that AppFlow deactivates after `threshold` failed runs in a row.
    pub fn deactivate_after(mut self, threshold: u32) -> Self {
        self.deactivation_threshold = Some(threshold);
        self
    }

    /// After how many failed runs in a row AppFlow deactivates the flow.
    pub fn effective_threshold(&self) -> Option<u32> {
        match self.trigger {
            TriggerType::OnDemand | TriggerType::Other(_) => None,
            TriggerType::Event => Some(1),
            TriggerType::Scheduled => self.deactivation_threshold,
        }
    }

    /// Counts a finished run; true when the flow is deactivated by it.
    fn count_run(&mut self, failed: bool) -> bool {
        if !failed {
            self.consecutive_failures = 0;
            return false;
        }
        self.consecutive_failures += 1;
        match self.effective_threshold() {
            Some(n) if self.status == "Active" && self.consecutive_failures >= n.max(1) => {
                self.status = "Suspended".into();
                self.consecutive_failures = 0;
                true
            }
            _ => false,
        }
    }

    pub fn trigger(mut self, trigger: TriggerType) -> Self {
        self.trigger = trigger;
        self
    }

    pub fn status(mut self, status: &str) -> Self {
        self.status = status.to_owned();
        self
    }

    /// The outcomes of the next runs StartFlow starts.
    pub fn then(mut self, outcomes: impl IntoIterator<Item = RunOutcome>) -> Self {
        self.script.extend(outcomes);
        self
    }
}

/// An injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// HTTP 429 with `x-amzn-ErrorType: ThrottlingException`.
    Throttle,
    /// HTTP 500 with `InternalServerException`.
    ServerError,
    /// The reply is delayed by this many milliseconds, then served normally.
    SlowMs(u64),
    /// HTTP 402 with `ServiceQuotaExceededException` (too many runs at once).
    QuotaExceeded,
    /// HTTP 409 with `ConflictException`.
    Conflict,
    /// The request is carried out, then its reply is lost: the caller sees
    /// an HTTP 500 although (for StartFlow) the run started.
    LoseReply,
}

/// One request the emulator answered, for assertions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    pub operation: Operation,
    pub flow: Option<String>,
    pub client_token: Option<String>,
    /// The HTTP status sent back.
    pub status: u16,
}

/// Order in which DescribeFlowExecutionRecords lists runs: AWS documents
/// none, so the default shuffles (deterministically) to catch code that
/// assumes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOrder {
    NewestFirst,
    OldestFirst,
    Shuffled(u64),
}

/// The clock runs start by: the wall clock, or a fixed time tests move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(DateTime<Utc>),
}

#[derive(Debug)]
struct Inner {
    flows: BTreeMap<String, Flow>,
    faults: HashMap<Operation, VecDeque<Fault>>,
    /// (flow, client token) → execution id of the run it started.
    tokens: HashMap<(String, String), String>,
    calls: Vec<Call>,
    /// "AppFlow End Flow Run Report" events of runs that ended, not yet taken.
    events: Vec<Value>,
    order: RecordOrder,
    clock: Clock,
    run_duration: TimeDelta,
    next_id: u64,
}

/// A running emulator on a loopback port. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    inner: Arc<Mutex<Inner>>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A cheap handle on the emulator's state, for the HTTP handlers.
#[derive(Clone, Debug)]
struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a test thread panicked; the data is still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Emulator {
    /// Starts on `127.0.0.1:0` (a free port) on the current tokio runtime.
    pub async fn start() -> std::io::Result<Emulator> {
        Self::start_on("127.0.0.1:0".parse().map_err(std::io::Error::other)?).await
    }

    /// Starts on the given address.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Emulator> {
        let inner = Arc::new(Mutex::new(Inner {
            flows: BTreeMap::new(),
            faults: HashMap::new(),
            tokens: HashMap::new(),
            calls: Vec::new(),
            events: Vec::new(),
            order: RecordOrder::Shuffled(7),
            clock: Clock::System,
            run_duration: TimeDelta::seconds(30),
            next_id: 1,
        }));
        let app = Router::new()
            .route("/start-flow", post(start_flow))
            .route("/describe-flow", post(describe_flow))
            .route("/describe-flow-execution-records", post(describe_records))
            .route("/list-flows", post(list_flows))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "UnknownOperationException", "unknown operation") })
            .with_state(Shared(inner.clone()));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Emulator {
            inner,
            addr,
            shutdown: Some(tx),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The endpoint URL to give the SDK (`AWS_ENDPOINT_URL_APPFLOW`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_flow(&self, flow: Flow) {
        self.lock().flows.insert(flow.name.clone(), flow);
    }

    pub fn delete_flow(&self, name: &str) {
        self.lock().flows.remove(name);
    }

    pub fn set_status(&self, name: &str, status: &str) {
        if let Some(f) = self.lock().flows.get_mut(name) {
            f.status = status.to_owned();
        }
    }

    /// Appends outcomes to a flow's script.
    pub fn script(&self, name: &str, outcomes: impl IntoIterator<Item = RunOutcome>) {
        if let Some(f) = self.lock().flows.get_mut(name) {
            f.script.extend(outcomes);
        }
    }

    /// Adds a run to a flow's history as it is, e.g. the failed run a test
    /// starts from (a success ends a scheduled flow's failures in a row; a
    /// failure never deactivates: see [`Emulator::fail_run`]).
    pub fn add_run(&self, name: &str, run: Run) {
        if let Some(f) = self.lock().flows.get_mut(name) {
            if run.status == "Successful" {
                f.consecutive_failures = 0;
            }
            f.history.push(run);
        }
    }

    /// Records a failed run of `name` that started at `started_at` and
    /// returns the EventBridge event AppFlow would send for it.
    pub fn fail_run(&self, name: &str, execution_id: &str, started_at: DateTime<Utc>, message: &str) -> Value {
        let mut inner = self.lock();
        let ended = started_at + inner.run_duration;
        let trigger = inner
            .flows
            .get(name)
            .map_or(TriggerType::OnDemand, |f| f.trigger.clone());
        let run = Run {
            execution_id: execution_id.to_owned(),
            status: "Error".into(),
            started_at: Some(started_at),
            last_updated_at: Some(ended),
            message: Some(message.to_owned()),
        };
        let mut deactivated = None;
        if let Some(f) = inner.flows.get_mut(name) {
            f.history.push(run.clone());
            if f.count_run(true) {
                deactivated = Some(flow_deactivated(name, f.trigger.clone(), ended));
            }
        }
        inner.events.extend(deactivated);
        end_flow_run_report(name, trigger, &run, ended)
    }

    /// Queues `times` faults for `operation`: each request takes one.
    pub fn inject(&self, operation: Operation, fault: Fault, times: usize) {
        let mut inner = self.lock();
        let q = inner.faults.entry(operation).or_default();
        q.extend(std::iter::repeat_n(fault, times));
    }

    pub fn set_order(&self, order: RecordOrder) {
        self.lock().order = order;
    }

    pub fn set_clock(&self, clock: Clock) {
        self.lock().clock = clock;
    }

    /// How long a started run takes until it ends (its `lastUpdatedAt`).
    pub fn set_run_duration(&self, d: TimeDelta) {
        self.lock().run_duration = d;
    }

    /// Every request answered so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Requests answered for one operation.
    pub fn count(&self, operation: Operation) -> usize {
        self.lock().calls.iter().filter(|c| c.operation == operation).count()
    }

    pub fn flow(&self, name: &str) -> Option<Flow> {
        self.lock().flows.get(name).cloned()
    }

    /// Takes the "AppFlow End Flow Run Report" events of the runs StartFlow
    /// started and that have ended (the emulator ends them at once).
    pub fn take_events(&self) -> Vec<Value> {
        std::mem::take(&mut self.lock().events)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

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
/// the field's name: the emulator sends `deactivation-reason`.
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
        },
    })
}

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

pub fn flow_arn(flow: &str) -> String {
    format!("arn:aws:appflow:{REGION}:{ACCOUNT}:flow/{flow}")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-ErrorType", v);
    }
    (status, headers, axum::Json(json!({ "message": message }))).into_response()
}

fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// Parses the request body and takes the operation's next fault, if any;
/// the flag says whether the reply is to be lost ([`Fault::LoseReply`]).
async fn begin(state: &Shared, op: Operation, body: &Bytes) -> Result<(Value, bool), Response> {
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
    let fault = state.lock().faults.get_mut(&op).and_then(VecDeque::pop_front);
    let fail = |status: StatusCode, code: &str, msg: &str| {
        state.lock().calls.push(Call {
            operation: op,
            flow: flow.clone(),
            client_token: client_token.clone(),
            status: status.as_u16(),
        });
        error(status, code, msg)
    };
    match fault {
        Some(Fault::Throttle) => {
            return Err(fail(
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                "Rate exceeded",
            ));
        }
        Some(Fault::ServerError) => {
            return Err(fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                "An internal error occurred",
            ));
        }
        Some(Fault::QuotaExceeded) => {
            return Err(fail(
                StatusCode::PAYMENT_REQUIRED,
                "ServiceQuotaExceededException",
                "The request would cause a service quota to be exceeded",
            ));
        }
        Some(Fault::Conflict) => {
            return Err(fail(
                StatusCode::CONFLICT,
                "ConflictException",
                "There was a conflict when processing the request",
            ));
        }
        Some(Fault::SlowMs(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::LoseReply) | None => {}
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

async fn start_flow(State(state): State<Shared>, body: Bytes) -> Response {
    let (req, lose) = match begin(&state, Operation::StartFlow, &body).await {
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

async fn describe_flow(State(state): State<Shared>, body: Bytes) -> Response {
    let (req, lose) = match begin(&state, Operation::DescribeFlow, &body).await {
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

async fn describe_records(State(state): State<Shared>, body: Bytes) -> Response {
    let (req, lose) = match begin(&state, Operation::DescribeFlowExecutionRecords, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let flow = req["flowName"].as_str().unwrap_or_default().to_owned();
    let max = req
        .get("maxResults")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let start: usize = match req.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => match t.strip_prefix("offset-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                let r = error(StatusCode::BAD_REQUEST, "ValidationException", "invalid nextToken");
                return finish(&state, Operation::DescribeFlowExecutionRecords, &flow, None, lose, r);
            }
        },
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

/// ListFlows: every flow by name, `maxResults` (1–100, default 100) a page.
async fn list_flows(State(state): State<Shared>, body: Bytes) -> Response {
    let (req, lose) = match begin(&state, Operation::ListFlows, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let max = req
        .get("maxResults")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let start: usize = match req.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => match t.strip_prefix("flows-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                let r = error(StatusCode::BAD_REQUEST, "ValidationException", "invalid nextToken");
                return finish(&state, Operation::ListFlows, "", None, lose, r);
            }
        },
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
