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
//!
//! IAM: after [`Emulator::enforce_iam`], each request is authorized against
//! the identity policies of the principal its access key belongs to, as
//! AppFlow does (403 `AccessDeniedException`); [`Emulator::authorizations`]
//! lists every decision (the `iam` module says what is and is not checked).

#![warn(missing_docs)]

mod events;
mod iam;
mod model;
mod server;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// How a flow is triggered: the domain's type, so the emulator and the
/// service read and write the same spellings.
pub use appflow_retry_policy::TriggerType;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

pub use events::{end_flow_run_report, flow_deactivated};
pub use iam::{Authorization, Principal};
pub use model::{Call, Clock, Fault, Flow, Operation, RecordOrder, Run, RunOutcome};
use server::{describe_flow, describe_records, error, list_flows, start_flow};

/// The account id in every ARN the emulator makes.
pub const ACCOUNT: &str = "123456789012";
/// The region in every ARN the emulator makes.
pub const REGION: &str = "us-east-1";

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
    /// Access key id → (principal ARN, its policies), when IAM is enforced.
    iam: Option<HashMap<String, (String, Vec<iam::Policy>)>>,
    /// Every request decided while IAM was enforced.
    authorizations: Vec<Authorization>,
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
            iam: None,
            authorizations: Vec::new(),
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

    /// From now on, authorizes every request as AWS does: against the identity
    /// policies of the principal whose access key signed it (`principals`:
    /// access key id → principal). A request without credentials, with an
    /// unknown key, or for an action and flow the policies do not grant is
    /// refused with AppFlow's 403 answer.
    ///
    /// # Errors
    ///
    /// A policy the evaluator cannot read, naming the principal and the
    /// element (enforcement is then not switched on).
    pub fn enforce_iam(&self, principals: impl IntoIterator<Item = (String, Principal)>) -> Result<(), String> {
        let mut table = HashMap::new();
        for (key, principal) in principals {
            let policies = principal
                .policies
                .iter()
                .map(iam::Policy::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", principal.arn))?;
            table.insert(key, (principal.arn, policies));
        }
        self.lock().iam = Some(table);
        Ok(())
    }

    /// Every request decided since IAM enforcement was switched on, in order.
    pub fn authorizations(&self) -> Vec<Authorization> {
        self.lock().authorizations.clone()
    }

    /// The endpoint URL to give the SDK (`AWS_ENDPOINT_URL_APPFLOW`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds `flow`, replacing a flow of the same name.
    pub fn add_flow(&self, flow: Flow) {
        self.lock().flows.insert(flow.name.clone(), flow);
    }

    /// Deletes the flow `name`: later calls on it answer `ResourceNotFoundException`.
    pub fn delete_flow(&self, name: &str) {
        self.lock().flows.remove(name);
    }

    /// Sets the flow's status (`Active`, `Suspended`, ...) as DescribeFlow reports it.
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

    /// The order DescribeFlowExecutionRecords lists runs in from now on.
    pub fn set_order(&self, order: RecordOrder) {
        self.lock().order = order;
    }

    /// The clock the runs started from now on are timed by.
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

    /// A copy of the flow `name` as it is now, if it exists.
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

/// The ARN AWS gives the flow `flow` in the emulator's account and region.
pub fn flow_arn(flow: &str) -> String {
    format!("arn:aws:appflow:{REGION}:{ACCOUNT}:flow/{flow}")
}
