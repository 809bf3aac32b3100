//! `make bench-outage`: an AppFlow connector outage over N flows, on a
//! simulated clock, through the real handlers (on-failure, restart, the
//! sweep) over in-memory ports that enforce AWS's quotas
//! (/work/shared/aws-facts.md → docs: "Quotas that matter in an outage").
//!
//! Modelled (each an assumption, stated where it is used):
//! - SSM: 40 TPS shared by every parameter read (token bucket 40, 40/s); the
//!   SDK's standard retry (3 attempts, full-jitter backoff from 1 s) in the port.
//! - AppFlow: 1,000 concurrent runs per account (StartFlow over it is
//!   `Throttled`, as the adapter maps HTTP 402); a request bucket per API
//!   (burst 20, 10/s: AWS publishes no number, this is our assumption); the
//!   adapter's SDK retry (8 attempts, full jitter from 1 s, cap 20 s) in the port.
//!   Runs last `run_seconds`; a run that ends inside an outage window fails
//!   with "Read timed out" (a transient message), after it runs succeed.
//! - Step Functions: StartExecution bucket 1,300 refill 300/s, DescribeExecution
//!   bucket 300 refill 15/s; SDK standard retry (3 attempts). Executions are
//!   played as the ASL says: Wait `delay_seconds`, then the real Restart
//!   handler, its Retry (30 s × 2ⁿ, full jitter, 6 attempts, cap 600 s).
//! - Lambda: 1,000 concurrent executions for the account; each Lambda
//!   instance has its own policy cache (a cold instance reads SSM). An
//!   invocation lasts its base time plus the SDK backoffs it waited.
//! - The intake queue (docs/design.md §5.11): events wait in SQS; the event
//!   source mapping runs at most `decision_concurrency` on-failure
//!   invocations of `batch_size` messages; a failed message comes back after
//!   `visibility_seconds` and is parked (errors queue) at `max_receives`.
//!   With `decision_concurrency` 0 the old path is played: async invocations
//!   over the limit retried by Lambda (1 s doubling to 5 min) for up to 6 h,
//!   function errors retried twice (1 min, 2 min), then parked.
//! - The restart queue (docs/design.md §5.12, the restart storm guard): when
//!   an execution's Wait ends, its Restart task sends a message to the restart
//!   queue and waits for the task token; the queue is served in order (FIFO) by
//!   `C` slots, R = `restart_rate_per_minute`, each slot one invocation of
//!   batch 1 through the real queued handler (heartbeat, restart, answer),
//!   busy for its duration plus the pace `P` it waits after the restart,
//!   billed (`C` and `P` from `RestartPace::for_rate`, as Terraform computes
//!   them: R 60 gives 5 slots and 5.5 s). A restart error the
//!   Task retries, or Lambda throttling the invocation, is the Task's Retry: a
//!   new message at the back of the queue after the backoff. A restart past the
//!   invocation's deadline (120 s less 13 s of margins) is `DeadlineExceeded`
//!   (retried); an attempt that waited over the Task's 24 h is `States.Timeout`
//!   (not retried). The event source mapping's polling delay and the callback
//!   API's quotas (at most R calls a minute) are not modelled.
//!   With `restart_rate_per_minute` 0 the old path is played: the Restart task
//!   invokes the restart function directly when the Wait ends.
//! - 1% of failure events are lost (seeded); only the sweep can find them.
//!
//! Prices (us-east-1 list prices): Step Functions Standard $0.000025 per state
//! transition; Lambda $0.0000166667 per GB-s (128 MB) + $0.0000002 per request;
//! SSM standard parameters' API calls free at standard throughput; AppFlow
//! $0.001 per flow run.
//!
//! Exits non-zero when a failure is lost or parked, an invariant breaks, or
//! (with a restart queue) more restarts started in a simulated minute than
//! `restart_rate_per_minute`. Restarts per minute: StartFlow calls that began
//! a restart run, per minute of the simulated clock; the mean is over the
//! minutes in which one started.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use appflow_retry_policy::naming::{DEFAULT_POLICY_PREFIX, default_parameter, execution_name};
use appflow_retry_policy::{Action, Decision, FailureEvent, RandomSource, RunRecord, RunStatus, SplitMix64};
use appflow_retry_runtime::ports::{
    AppFlow, Clock, ExecutionState, FlowInfo, FlowSummary, FlowsPage, ParameterStore, PortError, RecordsPage,
    RunningExecution, RunningPage, StartOutcome, StateMachine, TaskTokens,
};
use appflow_retry_runtime::{
    Coverage, DEFAULT_TTL_SECONDS, Handled, IntakeBacklog, OnFailure, PolicyCache, Restart, RestartPace, Sweep,
    SweepLimits,
};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

const DEFAULT_POLICY: &str = include_str!("../../../policies/default.yaml");
const HISTORY_PAGES: usize = 20;
const LAMBDA_LIMIT: usize = 1000;
const RUNS_LIMIT: usize = 1000;
const KEEP_RECORDS: usize = 300;
/// The restart function's timeout (terraform: lambda.timeout), less the
/// handler's margins (DEADLINE_MARGIN 3 s + ANSWER_MARGIN 10 s): a queued
/// restart still running then is abandoned as `DeadlineExceeded`.
const RESTART_ABANDON_MS: i64 = 120_000 - 13_000;
/// The Restart task's TimeoutSeconds with the restart queue (24 h).
const RESTART_TASK_TIMEOUT_MS: i64 = 86_400_000;

/// One scenario (a JSON file under benches/outage/, or the default one per N).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Scenario {
    name: String,
    flows: usize,
    /// `on_demand`, or a schedule: `every_hour`, `every_minute`.
    trigger: String,
    /// Outage windows, minutes from t0: [start, end) (several: a flapping connector).
    outages: Vec<[u64; 2]>,
    /// How long a run takes, seconds.
    run_seconds: u64,
    /// Simulated time after t0, hours.
    horizon_hours: u64,
    sweep_interval_minutes: u64,
    /// Share of failure events lost, in per mille.
    lost_per_mille: u64,
    seed: u64,
    /// AppFlow request bucket per API (assumed: AWS publishes none).
    appflow_burst: f64,
    appflow_rate: f64,
    /// Lambda base durations, ms.
    on_failure_ms: i64,
    restart_ms: i64,
    sweep_ms: i64,
    /// The intake queue in front of on-failure (the decision storm guard):
    /// the event source mapping's maximum concurrency, its batch size, the
    /// queue's visibility timeout (s) and its maxReceiveCount before the
    /// errors queue. `decision_concurrency` 0 plays the old path (EventBridge
    /// invoking on-failure asynchronously).
    decision_concurrency: usize,
    batch_size: usize,
    visibility_seconds: i64,
    max_receives: u32,
    /// The restart storm guard (Terraform `restart_rate_per_minute`, R): at
    /// most R restarts start in any minute, service-wide. 0 plays the old path
    /// (the Restart task invokes the restart function directly).
    restart_rate_per_minute: u64,
}

impl Scenario {
    /// (C, P ms) as the runtime and Terraform compute them from R
    /// ([`RestartPace::for_rate`]): C invocations at a time, each waiting P
    /// after its restart. None for R = 0 (or a rate Terraform refuses).
    fn restart_pace(&self) -> Option<(usize, i64)> {
        let (c, pace) = RestartPace::for_rate(self.restart_rate_per_minute)?;
        Some((
            usize::try_from(c).unwrap_or(2),
            i64::try_from(pace.pace.as_millis()).unwrap_or(60_000),
        ))
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "outage".into(),
            flows: 100,
            trigger: "on_demand".into(),
            outages: vec![[0, 30]],
            run_seconds: 60,
            horizon_hours: 8,
            sweep_interval_minutes: 15,
            lost_per_mille: 10,
            seed: 18,
            appflow_burst: 20.0,
            appflow_rate: 10.0,
            on_failure_ms: 200,
            restart_ms: 300,
            sweep_ms: 5_000,
            decision_concurrency: 5,
            batch_size: 1,
            visibility_seconds: 720,
            max_receives: 5,
            restart_rate_per_minute: 60,
        }
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    cap: f64,
    rate: f64,
    tokens: f64,
    last_ms: i64,
}

impl Bucket {
    fn new(cap: f64, rate: f64) -> Self {
        Bucket {
            cap,
            rate,
            tokens: cap,
            last_ms: 0,
        }
    }

    fn take(&mut self, at_ms: i64) -> bool {
        if at_ms > self.last_ms {
            self.tokens = (self.tokens + (at_ms - self.last_ms) as f64 * self.rate / 1000.0).min(self.cap);
            self.last_ms = at_ms;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Api {
    SsmGet,
    ListFlows,
    Records,
    DescribeFlow,
    StartFlow,
    StartExecution,
    DescribeExecution,
}

impl Api {
    const ALL: [Api; 7] = [
        Api::SsmGet,
        Api::ListFlows,
        Api::Records,
        Api::DescribeFlow,
        Api::StartFlow,
        Api::StartExecution,
        Api::DescribeExecution,
    ];

    fn name(self) -> &'static str {
        match self {
            Api::SsmGet => "SSM GetParameters",
            Api::ListFlows => "AppFlow ListFlows",
            Api::Records => "AppFlow DescribeFlowExecutionRecords",
            Api::DescribeFlow => "AppFlow DescribeFlow",
            Api::StartFlow => "AppFlow StartFlow",
            Api::StartExecution => "SFN StartExecution",
            Api::DescribeExecution => "SFN DescribeExecution",
        }
    }

    /// (attempts, first backoff ms, cap ms) of the SDK retry the adapter has.
    fn sdk_retry(self) -> (u32, i64, i64) {
        match self {
            // AppFlowSdkRetry::default(), and SSM's ssm_retry_config (its
            // adaptive rate limiting is not modelled).
            Api::SsmGet | Api::ListFlows | Api::Records | Api::DescribeFlow | Api::StartFlow => (8, 1_000, 20_000),
            _ => (3, 1_000, 20_000),
        }
    }
}

struct FlowSim {
    name: String,
    trigger: &'static str,
    /// Newest first.
    records: Vec<RunRecord>,
}

#[derive(Default)]
struct Stats {
    /// Attempts per API and simulated minute (throttled ones included).
    calls: BTreeMap<(Api, i64), u64>,
    throttles: BTreeMap<Api, u64>,
    /// Throttled still after the SDK's retries.
    throttled_out: BTreeMap<Api, u64>,
    restarts_per_minute: BTreeMap<i64, u64>,
    /// When each restart run started, ms (for the sliding 60 s peak).
    restart_times: Vec<i64>,
    /// Concurrent AppFlow runs, peak (the quota is 1,000), and of restart runs alone.
    running_peak: usize,
    restart_running_peak: usize,
    runs: u64,
    restart_runs: u64,
    runs_refused_concurrency: u64,
}

struct State {
    t0: DateTime<Utc>,
    now_ms: i64,
    /// Backoff the SDK waited inside the current invocation, ms.
    waited_ms: i64,
    rng: SplitMix64,
    buckets: HashMap<Api, Bucket>,
    ssm: HashMap<String, String>,
    flows: Vec<FlowSim>,
    index: HashMap<String, usize>,
    running: usize,
    /// Restart runs among `running`.
    running_restarts: usize,
    /// (end ms, flow, execution id) of runs started since the loop last looked.
    new_runs: Vec<(i64, usize, String)>,
    next_run: u64,
    client_tokens: HashMap<String, String>,
    /// Execution ids StartFlow started.
    started_runs: HashSet<String>,
    executions: HashMap<String, String>,
    /// Executions waiting for (or in) their restart: name → start, ms.
    running_executions: HashMap<String, i64>,
    /// The answer the restart function sent for the task token it handled
    /// last (SendTaskSuccess's output, or SendTaskFailure's error name).
    answer: Option<Result<String, String>>,
    /// The start of the execution whose restart message is handled now
    /// (DescribeExecution's answer to the restart queue's check).
    handling_started: Option<DateTime<Utc>>,
    stats: Stats,
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn time(&self, ms: i64) -> DateTime<Utc> {
        self.t0 + TimeDelta::milliseconds(ms)
    }

    /// One API call through its bucket and the SDK's retry: Ok, or Throttled after the last attempt.
    fn call(&mut self, api: Api) -> Result<(), PortError> {
        let (attempts, first, cap) = api.sdk_retry();
        for attempt in 0..attempts {
            let at = self.now_ms + self.waited_ms;
            *self.stats.calls.entry((api, at.div_euclid(60_000))).or_default() += 1;
            if self.buckets.get_mut(&api).is_some_and(|b| b.take(at)) {
                return Ok(());
            }
            *self.stats.throttles.entry(api).or_default() += 1;
            if attempt + 1 < attempts {
                let bound = (first << attempt.min(20)).min(cap);
                self.waited_ms += (self.rng.next_unit() * bound as f64) as i64;
            }
        }
        *self.stats.throttled_out.entry(api).or_default() += 1;
        Err(PortError::Throttled(format!("{}: rate exceeded", api.name())))
    }

    fn start_run(&mut self, flow: usize, restart: bool) -> Option<String> {
        if self.running >= RUNS_LIMIT {
            self.stats.runs_refused_concurrency += 1;
            return None;
        }
        self.running += 1;
        self.stats.running_peak = self.stats.running_peak.max(self.running);
        self.next_run += 1;
        let id = format!("run-{:08}", self.next_run);
        let at = self.now_ms + self.waited_ms;
        let started = self.time(at);
        let f = &mut self.flows[flow];
        f.records.insert(
            0,
            RunRecord {
                execution_id: id.clone(),
                status: RunStatus::InProgress,
                started_at: Some(started),
                last_updated_at: Some(started),
                message: None,
            },
        );
        f.records.truncate(KEEP_RECORDS);
        self.stats.runs += 1;
        if restart {
            self.stats.restart_runs += 1;
            self.running_restarts += 1;
            self.stats.restart_running_peak = self.stats.restart_running_peak.max(self.running_restarts);
            *self.stats.restarts_per_minute.entry(at.div_euclid(60_000)).or_default() += 1;
            self.stats.restart_times.push(at);
        }
        self.new_runs.push((at, flow, id.clone()));
        Some(id)
    }
}

#[derive(Clone)]
struct Port(Shared);

impl Clock for Port {
    fn now(&self) -> DateTime<Utc> {
        let s = lock(&self.0);
        s.time(s.now_ms + s.waited_ms)
    }
}

impl ParameterStore for Port {
    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<String>>, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::SsmGet)?;
        Ok(names.iter().map(|n| s.ssm.get(n).cloned()).collect())
    }
}

impl AppFlow for Port {
    async fn list_flows(&self, next_token: Option<String>) -> Result<FlowsPage, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::ListFlows)?;
        let start: usize = next_token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let end = (start + 100).min(s.flows.len());
        let flows = s.flows[start..end]
            .iter()
            .map(|f| {
                let last = f.records.first();
                FlowSummary {
                    name: f.name.clone(),
                    status: "Active".into(),
                    trigger_type: f.trigger.into(),
                    last_run_status: last.map(|r| r.status.as_str().to_owned()),
                    last_run_time: last.and_then(RunRecord::time),
                }
            })
            .collect();
        Ok(FlowsPage {
            flows,
            next_token: (end < s.flows.len()).then(|| end.to_string()),
        })
    }

    async fn execution_records(&self, flow: &str, next_token: Option<String>) -> Result<RecordsPage, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::Records)?;
        let Some(&i) = s.index.get(flow) else {
            return Err(PortError::NotFound(flow.into()));
        };
        let records = &s.flows[i].records;
        let start: usize = next_token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let end = (start + 100).min(records.len());
        Ok(RecordsPage {
            records: records[start..end].to_vec(),
            next_token: (end < records.len()).then(|| end.to_string()),
        })
    }

    async fn describe_flow(&self, flow: &str) -> Result<Option<FlowInfo>, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::DescribeFlow)?;
        Ok(s.index.get(flow).map(|&i| FlowInfo {
            status: "Active".into(),
            trigger_type: s.flows[i].trigger.into(),
            deactivation_threshold: None,
        }))
    }

    async fn start_flow(&self, flow: &str, client_token: &str) -> Result<Option<String>, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::StartFlow)?;
        let Some(&i) = s.index.get(flow) else {
            return Err(PortError::NotFound(flow.into()));
        };
        if s.flows[i].trigger != "OnDemand" {
            return Ok(None);
        }
        // clientToken: the same token within 8 hours returns the same run.
        if let Some(id) = s.client_tokens.get(client_token) {
            return Ok(Some(id.clone()));
        }
        let Some(id) = s.start_run(i, true) else {
            return Err(PortError::Throttled(
                "ServiceQuotaExceededException: 1,000 concurrent flow runs".into(),
            ));
        };
        s.client_tokens.insert(client_token.into(), id.clone());
        s.started_runs.insert(id.clone());
        Ok(Some(id))
    }
}

impl StateMachine for Port {
    async fn start_execution(&self, name: &str, input: &str) -> Result<StartOutcome, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::StartExecution)?;
        if s.executions.contains_key(name) {
            return Ok(StartOutcome::AlreadyExists);
        }
        s.executions.insert(name.into(), input.into());
        Ok(StartOutcome::Started {
            execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:retry:{name}"),
        })
    }

    async fn execution_exists(&self, name: &str) -> Result<bool, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::DescribeExecution)?;
        Ok(s.executions.contains_key(name))
    }

    async fn execution_input(&self, name: &str) -> Result<Option<String>, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::DescribeExecution)?;
        Ok(s.executions.get(name).cloned())
    }

    /// ListExecutions (bucket 100, refill 2/s: a page a sweep is far
    /// below it, not modelled): one page with every running execution.
    async fn running_executions(&self, _next_token: Option<String>) -> Result<RunningPage, PortError> {
        let s = lock(&self.0);
        Ok(RunningPage {
            executions: s
                .running_executions
                .iter()
                .map(|(name, at)| RunningExecution {
                    name: name.clone(),
                    started_at: s.time(*at),
                })
                .collect(),
            next_token: None,
        })
    }
}

/// Step Functions' callback API: every execution in the bench waits for its
/// token until answered (no one stops one), and the calls are not throttled
/// (at most `restart_rate_per_minute` a minute of each).
impl TaskTokens for Port {
    async fn execution(&self, _name: &str) -> Result<Option<ExecutionState>, PortError> {
        let mut s = lock(&self.0);
        s.call(Api::DescribeExecution)?;
        Ok(s.handling_started.map(|started_at| ExecutionState {
            started_at,
            running: true,
        }))
    }

    async fn heartbeat(&self, _token: &str) -> Result<(), PortError> {
        Ok(())
    }

    async fn succeed(&self, _token: &str, output: &str) -> Result<(), PortError> {
        lock(&self.0).answer = Some(Ok(output.to_owned()));
        Ok(())
    }

    async fn fail(&self, _token: &str, error: &str, _cause: &str) -> Result<(), PortError> {
        lock(&self.0).answer = Some(Err(error.to_owned()));
        Ok(())
    }
}

/// Runs a future whose ports never wait (they answer at once on the simulated clock).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => {
            eprintln!("outage bench: a simulated port waited, which none may");
            std::process::exit(2)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// A scheduled (or the outside world's on-demand) run is due.
    Run {
        flow: usize,
        n: u64,
    },
    RunEnd {
        flow: usize,
        id: String,
    },
    /// Lambda invokes on-failure for a failed run's event (async; `tries` function errors so far).
    Deliver {
        flow: usize,
        id: String,
        tries: u32,
        first_ms: i64,
    },
    /// The execution's Wait ended (or its Restart task is retried).
    Restart {
        name: String,
        attempt: u32,
    },
    /// The event source mapping polls the intake queue.
    Poll,
    /// The restart queue's event source mapping looks for a free slot and a message.
    RestartPoll,
    Sweep,
}

/// A message in the restart queue: an attempt of an execution's Restart task.
struct Queued {
    name: String,
    attempt: u32,
    sent_at: i64,
}

/// What the restart function gave the execution.
enum Answer {
    Output {
        outcome: String,
        new_execution_id: Option<String>,
        notify: bool,
    },
    /// The error's stable name (what the Task's Retry and Catch match) and its text.
    Error(String, String),
}

/// One run's line in the closing summary.
struct Summary {
    name: String,
    flows: usize,
    rate: u64,
    peak: u64,
    mean: f64,
    queue_peak: usize,
    oldest_min: f64,
    recovered: String,
    runs_peak: usize,
    restart_runs_peak: usize,
    parked: usize,
    lost: usize,
    ok: bool,
}

/// A message in the intake queue.
struct Msg {
    flow: usize,
    id: String,
    visible_at: i64,
    receives: u32,
    /// When EventBridge sent it.
    sent_at: i64,
}

type OnFailureFn = OnFailure<Port, Port, Port, Port>;
type RestartFn = Restart<Port, Port, Port>;

struct Instance<H> {
    busy_until: i64,
    handler: H,
}

#[derive(Default)]
struct Outcome {
    decided: u64,
    by_action: BTreeMap<String, u64>,
    parked: HashSet<String>,
    parked_by: BTreeMap<String, u64>,
    lambda_throttled: u64,
    lambda_peak: usize,
    on_failure_invocations: u64,
    restart_invocations: u64,
    lambda_ms: i64,
    transitions: u64,
    restart_failed: u64,
    restarted_per_failure: HashMap<String, u32>,
    restart_ids: Vec<String>,
    sweep_found: u64,
    /// Failures the sweep decided whose event was not lost (only late).
    sweep_raced: u64,
    /// The execution ids whose event EventBridge lost.
    events_lost: HashSet<String>,
    sweep_errors: u64,
    /// The most flows one sweep read, and left for the next one.
    sweep_examined_peak: usize,
    sweep_left_peak: usize,
    violations: Vec<String>,
}

struct Sim {
    sc: Scenario,
    shared: Shared,
    queue: BinaryHeap<Reverse<(i64, u64, Ev)>>,
    seq: u64,
    on_failure: Vec<Instance<OnFailureFn>>,
    restart: Vec<Instance<RestartFn>>,
    sweep: Sweep<Port, Port, Port, Port>,
    out: Outcome,
    rng: SplitMix64,
    /// Each flow's first run, ms after t0 (its schedule's offset).
    offsets: Vec<i64>,
    /// The intake queue, oldest first.
    intake: Vec<Msg>,
    intake_peak: usize,
    /// The oldest message's age at a receipt, ms since EventBridge sent it (the decision backlog).
    intake_oldest_ms: i64,
    /// The restart queue (restart_rate_per_minute > 0), oldest first.
    restart_queue: VecDeque<Queued>,
    restart_queue_peak: usize,
    /// The longest wait of a message in the restart queue, ms from its send to its receipt.
    restart_queue_oldest_ms: i64,
    /// Each execution's start, ms (its Wait starts with it).
    exec_started: HashMap<String, i64>,
    /// Invocations from the restart queue per simulated minute (what the pace bounds).
    restart_invocations_per_minute: BTreeMap<i64, u64>,
}

fn on_failure_fn(p: &Port) -> OnFailureFn {
    OnFailure {
        policies: PolicyCache::new(p.clone(), DEFAULT_POLICY_PREFIX, DEFAULT_TTL_SECONDS),
        appflow: p.clone(),
        state_machine: p.clone(),
        clock: p.clone(),
        max_history_pages: HISTORY_PAGES,
    }
}

impl Sim {
    fn new(sc: Scenario) -> Sim {
        let t0: DateTime<Utc> = "2026-01-05T09:00:00Z".parse().unwrap_or_default();
        let trigger = match sc.trigger.as_str() {
            "on_demand" => "OnDemand",
            _ => "Scheduled",
        };
        let flows: Vec<FlowSim> = (0..sc.flows)
            .map(|i| FlowSim {
                name: format!("sales-sync-{i:05}"),
                trigger,
                records: Vec::new(),
            })
            .collect();
        let index = flows.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect();
        let mut buckets = HashMap::new();
        buckets.insert(Api::SsmGet, Bucket::new(40.0, 40.0));
        for api in [Api::ListFlows, Api::Records, Api::DescribeFlow, Api::StartFlow] {
            buckets.insert(api, Bucket::new(sc.appflow_burst, sc.appflow_rate));
        }
        buckets.insert(Api::StartExecution, Bucket::new(1300.0, 300.0));
        buckets.insert(Api::DescribeExecution, Bucket::new(300.0, 15.0));
        let mut ssm = HashMap::new();
        ssm.insert(default_parameter(DEFAULT_POLICY_PREFIX), DEFAULT_POLICY.to_owned());
        let shared = Arc::new(Mutex::new(State {
            t0,
            now_ms: 0,
            waited_ms: 0,
            rng: SplitMix64::new(sc.seed ^ 0x55),
            buckets,
            ssm,
            flows,
            index,
            running: 0,
            running_restarts: 0,
            new_runs: Vec::new(),
            next_run: 0,
            client_tokens: HashMap::new(),
            started_runs: HashSet::new(),
            executions: HashMap::new(),
            running_executions: HashMap::new(),
            answer: None,
            handling_started: None,
            stats: Stats::default(),
        }));
        let port = Port(shared.clone());
        let sweep = Sweep::new(on_failure_fn(&port), Coverage::all(), SweepLimits::default());
        let rng = SplitMix64::new(sc.seed);
        let mut sim = Sim {
            sc,
            shared,
            queue: BinaryHeap::new(),
            seq: 0,
            on_failure: Vec::new(),
            restart: Vec::new(),
            sweep,
            out: Outcome::default(),
            rng,
            offsets: Vec::new(),
            intake: Vec::new(),
            intake_peak: 0,
            intake_oldest_ms: 0,
            restart_queue: VecDeque::new(),
            restart_queue_peak: 0,
            restart_queue_oldest_ms: 0,
            exec_started: HashMap::new(),
            restart_invocations_per_minute: BTreeMap::new(),
        };
        for flow in 0..sim.sc.flows {
            // Each flow's first run starts in the outage's first minute (the
            // outside world's StartFlow, or the schedule), spread by flow.
            let offset = (sim.rng.next_unit() * 30_000.0) as i64;
            sim.offsets.push(offset);
            sim.push(offset, Ev::Run { flow, n: 0 });
        }
        let interval = i64::try_from(sim.sc.sweep_interval_minutes.max(1)).unwrap_or(15) * 60_000;
        let mut t = interval;
        while t < sim.horizon_ms() {
            sim.push(t, Ev::Sweep);
            t += interval;
        }
        sim
    }

    fn horizon_ms(&self) -> i64 {
        i64::try_from(self.sc.horizon_hours).unwrap_or(8) * 3_600_000
    }

    fn period_ms(&self) -> Option<i64> {
        match self.sc.trigger.as_str() {
            "every_hour" => Some(3_600_000),
            "every_minute" => Some(60_000),
            _ => None,
        }
    }

    fn push(&mut self, at: i64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, ev)));
    }

    fn in_outage(&self, ms: i64) -> bool {
        self.sc
            .outages
            .iter()
            .any(|[a, b]| ms >= (*a as i64) * 60_000 && ms < (*b as i64) * 60_000)
    }

    fn take_new_runs(&mut self) {
        let runs = std::mem::take(&mut lock(&self.shared).new_runs);
        let dur = i64::try_from(self.sc.run_seconds).unwrap_or(60) * 1000;
        for (start, flow, id) in runs {
            self.push(start + dur, Ev::RunEnd { flow, id });
        }
    }

    fn lambda_in_flight(&self, now: i64) -> usize {
        self.on_failure.iter().filter(|i| i.busy_until > now).count()
            + self.restart.iter().filter(|i| i.busy_until > now).count()
    }

    /// A free instance of the function (a new, cold one when none is free), or None over the
    /// account's concurrency.
    fn instance<H>(pool: &mut Vec<Instance<H>>, now: i64, in_flight: usize, make: impl FnOnce() -> H) -> Option<usize> {
        if let Some(i) = pool.iter().position(|i| i.busy_until <= now) {
            return Some(i);
        }
        if in_flight >= LAMBDA_LIMIT {
            return None;
        }
        pool.push(Instance {
            busy_until: now,
            handler: make(),
        });
        Some(pool.len() - 1)
    }

    fn begin(&mut self, now: i64) {
        let mut s = lock(&self.shared);
        s.now_ms = now;
        s.waited_ms = 0;
    }

    fn waited(&self) -> i64 {
        lock(&self.shared).waited_ms
    }

    fn run(&mut self) {
        let horizon = self.horizon_ms();
        let wall = Instant::now();
        let mut next_progress = 3_600_000;
        while let Some(Reverse((now, _, ev))) = self.queue.pop() {
            if now > horizon + 6 * 3_600_000 {
                break;
            }
            if now >= next_progress {
                // Progress only for a run that takes a while.
                if wall.elapsed() > Duration::from_secs(10) {
                    eprintln!(
                        "[{}] simulated {} h, {:.1} s wall, events {}, restart queue {}",
                        self.sc.name,
                        next_progress / 3_600_000,
                        wall.elapsed().as_secs_f64(),
                        self.queue.len(),
                        self.restart_queue.len()
                    );
                }
                next_progress += 3_600_000;
            }
            self.begin(now);
            match ev {
                Ev::Run { flow, n } => self.scheduled_run(now, flow, n),
                Ev::RunEnd { flow, id } => self.run_end(now, flow, &id),
                Ev::Deliver {
                    flow,
                    id,
                    tries,
                    first_ms,
                } => self.deliver(now, flow, id, tries, first_ms),
                Ev::Restart { name, attempt } => {
                    self.out.transitions += 1; // Restart (or its retry)
                    if self.sc.restart_pace().is_some() {
                        // The Task sends its message; the mapping takes it when a slot is free.
                        self.restart_queue.push_back(Queued {
                            name,
                            attempt,
                            sent_at: now,
                        });
                        self.restart_queue_peak = self.restart_queue_peak.max(self.restart_queue.len());
                        self.serve_restarts(now);
                    } else {
                        self.restart(now, name, attempt, None);
                    }
                }
                Ev::RestartPoll => self.serve_restarts(now),
                Ev::Poll => self.poll(now),
                Ev::Sweep => self.sweep(now),
            }
            self.take_new_runs();
            let in_flight = self.lambda_in_flight(now);
            self.out.lambda_peak = self.out.lambda_peak.max(in_flight);
        }
    }

    fn scheduled_run(&mut self, now: i64, flow: usize, n: u64) {
        if lock(&self.shared).start_run(flow, false).is_none() {
            // Over the 1,000 concurrent runs: the outside world's StartFlow tries again in a
            // minute; a scheduled run is assumed to be queued by AppFlow as long (undocumented).
            self.push(now + 60_000, Ev::Run { flow, n });
            return;
        }
        if let Some(p) = self.period_ms() {
            let next = self.offsets[flow] + i64::try_from(n + 1).unwrap_or(0) * p;
            if next < self.horizon_ms() {
                self.push(next.max(now + 1), Ev::Run { flow, n: n + 1 });
            }
        }
    }

    fn run_end(&mut self, now: i64, flow: usize, id: &str) {
        let failed = self.in_outage(now);
        {
            let mut s = lock(&self.shared);
            s.running = s.running.saturating_sub(1);
            if s.started_runs.contains(id) {
                s.running_restarts = s.running_restarts.saturating_sub(1);
            }
            let t = s.time(now);
            if let Some(r) = s.flows[flow].records.iter_mut().find(|r| r.execution_id == id) {
                r.last_updated_at = Some(t);
                if failed {
                    r.status = RunStatus::Error;
                    r.message = Some("Read timed out".into());
                } else {
                    r.status = RunStatus::Successful;
                }
            }
        }
        if failed {
            // EventBridge delivers "AppFlow End Flow Run Report" (best effort: some are lost).
            let lost = self.rng.next_unit() * 1000.0 < self.sc.lost_per_mille as f64;
            if lost {
                self.out.events_lost.insert(id.to_owned());
            }
            if !lost && self.sc.decision_concurrency > 0 {
                // EventBridge → the intake queue (SendMessage has no quota to speak of).
                self.intake.push(Msg {
                    flow,
                    id: id.to_owned(),
                    visible_at: now + 1_000,
                    receives: 0,
                    sent_at: now + 1_000,
                });
                self.intake_peak = self.intake_peak.max(self.intake.len());
                self.push(now + 1_000, Ev::Poll);
            } else if !lost {
                self.push(
                    now + 1_000,
                    Ev::Deliver {
                        flow,
                        id: id.to_owned(),
                        tries: 0,
                        first_ms: now + 1_000,
                    },
                );
            }
        }
    }

    fn failure_event(&self, flow: usize, id: &str) -> Option<FailureEvent> {
        let s = lock(&self.shared);
        let f = &s.flows[flow];
        let r = f.records.iter().find(|r| r.execution_id == id)?;
        Some(FailureEvent {
            flow_name: f.name.clone(),
            execution_id: id.to_owned(),
            trigger_type: Some(
                if f.trigger == "OnDemand" {
                    "ONDEMAND"
                } else {
                    "SCHEDULED"
                }
                .into(),
            ),
            status: Some("Execution Failed".into()),
            error: r.message.clone(),
            start_time: r.started_at,
            time: r.last_updated_at,
        })
    }

    fn deliver(&mut self, now: i64, flow: usize, id: String, tries: u32, first_ms: i64) {
        let in_flight = self.lambda_in_flight(now);
        let port = Port(self.shared.clone());
        let Some(i) = Self::instance(&mut self.on_failure, now, in_flight, || on_failure_fn(&port)) else {
            // Throttled async invoke: Lambda retries it (1 s doubling, at most 5 min) for up to 6 h.
            self.out.lambda_throttled += 1;
            let age = now - first_ms;
            let wait = (1_000_i64 << (age / 60_000).min(8)).min(300_000);
            if age + wait > 6 * 3_600_000 {
                *self.out.parked_by.entry("EventAgeExceeded".into()).or_default() += 1;
                self.out.parked.insert(id);
            } else {
                self.push(
                    now + wait,
                    Ev::Deliver {
                        flow,
                        id,
                        tries,
                        first_ms,
                    },
                );
            }
            return;
        };
        let Some(event) = self.failure_event(flow, &id) else {
            return;
        };
        self.out.on_failure_invocations += 1;
        let result = block_on(self.on_failure[i].handler.handle_event(event));
        let took = self.sc.on_failure_ms + self.waited();
        self.on_failure[i].busy_until = now + took;
        self.out.lambda_ms += took;
        match result {
            Ok(out) => self.decided(
                now + took,
                &out.decision,
                out.execution == appflow_retry_policy::ExecutionStart::Started,
            ),
            Err(e) => {
                if tries < 2 {
                    let wait = 60_000 * (1 << tries);
                    self.push(
                        now + took + wait,
                        Ev::Deliver {
                            flow,
                            id,
                            tries: tries + 1,
                            first_ms,
                        },
                    );
                } else {
                    if self.out.parked.len() < 3 {
                        eprintln!("[{}] parked {id}: {} {e}", self.sc.name, e.error_type());
                    }
                    *self.out.parked_by.entry(e.error_type().to_owned()).or_default() += 1;
                    self.out.parked.insert(id);
                }
            }
        }
    }

    /// The event source mapping: while fewer than `decision_concurrency`
    /// instances are busy, a free one takes a batch of visible messages and
    /// decides them one after another. A message that fails comes back when its
    /// visibility timeout (counted from the receipt) ends; at `max_receives` it
    /// moves to the errors queue (parked).
    fn poll(&mut self, now: i64) {
        loop {
            let busy = self.on_failure.iter().filter(|i| i.busy_until > now).count();
            if busy >= self.sc.decision_concurrency {
                return;
            }
            let mut batch = Vec::new();
            let mut i = 0;
            while i < self.intake.len() && batch.len() < self.sc.batch_size.max(1) {
                if self.intake[i].visible_at <= now {
                    batch.push(self.intake.remove(i));
                } else {
                    i += 1;
                }
            }
            if batch.is_empty() {
                return;
            }
            for m in &batch {
                self.intake_oldest_ms = self.intake_oldest_ms.max(now - m.sent_at);
            }
            let in_flight = self.lambda_in_flight(now);
            let port = Port(self.shared.clone());
            let visible = now + self.sc.visibility_seconds * 1000;
            let Some(inst) = Self::instance(&mut self.on_failure, now, in_flight, || on_failure_fn(&port)) else {
                // The account's concurrency: the batch comes back after its visibility timeout.
                self.out.lambda_throttled += 1;
                for m in batch {
                    self.requeue(m, visible, "Lambda.TooManyRequestsException");
                }
                self.push(visible, Ev::Poll);
                return;
            };
            self.out.on_failure_invocations += 1;
            let mut elapsed = 0;
            for m in batch {
                self.begin(now + elapsed);
                let Some(event) = self.failure_event(m.flow, &m.id) else {
                    continue;
                };
                let result = block_on(self.on_failure[inst].handler.handle_event(event));
                elapsed += self.sc.on_failure_ms + self.waited();
                match result {
                    Ok(out) => self.decided(
                        now + elapsed,
                        &out.decision,
                        out.execution == appflow_retry_policy::ExecutionStart::Started,
                    ),
                    Err(e) => {
                        if self.out.parked.len() < 3 && m.receives + 1 >= self.sc.max_receives {
                            eprintln!("[{}] parked {}: {} {e}", self.sc.name, m.id, e.error_type());
                        }
                        self.requeue(m, visible, e.error_type());
                        self.push(visible, Ev::Poll);
                    }
                }
            }
            self.on_failure[inst].busy_until = now + elapsed;
            self.out.lambda_ms += elapsed;
            self.push(now + elapsed, Ev::Poll);
        }
    }

    fn requeue(&mut self, mut m: Msg, visible_at: i64, why: &str) {
        m.receives += 1;
        if m.receives >= self.sc.max_receives {
            *self.out.parked_by.entry(why.to_owned()).or_default() += 1;
            self.out.parked.insert(m.id);
        } else {
            m.visible_at = visible_at;
            self.intake.push(m);
        }
    }

    /// An execution started: play its Route (and the Wait of a retry).
    fn decided(&mut self, at: i64, d: &Decision, started: bool) {
        if !started {
            return;
        }
        self.out.decided += 1;
        *self.out.by_action.entry(d.action.as_str().to_owned()).or_default() += 1;
        // Route, then a Notify state when notify, then WaitBackoff or Done.
        self.out.transitions += 2 + u64::from(d.notify);
        if let (Action::Retry | Action::Reactivate, Some(delay)) = (d.action, d.delay_seconds) {
            let name = execution_name(&d.flow, &d.execution_id);
            self.exec_started.entry(name.clone()).or_insert(at);
            lock(&self.shared).running_executions.entry(name.clone()).or_insert(at);
            self.push(
                at + i64::try_from(delay).unwrap_or(0) * 1000,
                Ev::Restart { name, attempt: 0 },
            );
        }
    }

    /// The restart queue's event source mapping: while fewer than C slots are
    /// busy and a message waits, a slot takes the oldest message (batch 1).
    fn serve_restarts(&mut self, now: i64) {
        let Some((slots, _)) = self.sc.restart_pace() else {
            return;
        };
        loop {
            let busy = self.restart.iter().filter(|i| i.busy_until > now).count();
            if busy >= slots {
                return;
            }
            let Some(m) = self.restart_queue.pop_front() else {
                return;
            };
            let waited = now - m.sent_at;
            self.restart_queue_oldest_ms = self.restart_queue_oldest_ms.max(waited);
            if waited > RESTART_TASK_TIMEOUT_MS {
                // States.Timeout: not retried; the execution reports a restart whose state is unknown.
                self.restart_gave_up(&m.name, "States.Timeout (the message waited over 24 h)");
                continue;
            }
            self.begin(now);
            *self
                .restart_invocations_per_minute
                .entry(now.div_euclid(60_000))
                .or_default() += 1;
            if !self.restart(now, m.name, m.attempt, Some(slots)) {
                // Lambda throttled the invocation: the mapping backs off a second.
                self.push(now + 1_000, Ev::RestartPoll);
                return;
            }
        }
    }

    /// The Restart task failed for good (its Catch): RestartFailedRoute, NotifyRestartFailed, RestartFailed.
    fn restart_gave_up(&mut self, name: &str, why: &str) {
        lock(&self.shared).running_executions.remove(name);
        self.out.restart_failed += 1;
        self.out.transitions += 3;
        if self.out.restart_failed <= 3 {
            eprintln!("[{}] restart failed for {name}: {why}", self.sc.name);
        }
    }

    /// One attempt of an execution's Restart task: a direct invocation
    /// (`queued` None), or one message of the restart queue in a free slot
    /// (`queued` Some(C)). False when Lambda throttled the invocation.
    fn restart(&mut self, now: i64, name: String, attempt: u32, queued: Option<usize>) -> bool {
        let Some(input) = lock(&self.shared).executions.get(&name).cloned() else {
            self.out
                .violations
                .push(format!("the Wait of {name} ended without its execution"));
            return true;
        };
        let Ok(input) = serde_json::from_str::<serde_json::Value>(&input) else {
            return true;
        };
        let Ok(d) = serde_json::from_value::<Decision>(input["decision"].clone()) else {
            self.out.violations.push(format!("{name}: its input has no decision"));
            return true;
        };
        // $$.Execution.StartTime: the Wait started with the execution.
        let started_ms = self
            .exec_started
            .get(&name)
            .copied()
            .unwrap_or_else(|| now - i64::try_from(d.delay_seconds.unwrap_or(0)).unwrap_or(0) * 1000);
        let started = lock(&self.shared).time(started_ms);
        lock(&self.shared).handling_started = Some(started);
        let payload = appflow_retry_runtime::RestartInput::for_execution(&d, started).to_json();
        let in_flight = self.lambda_in_flight(now);
        let port = Port(self.shared.clone());
        let retry = |sim: &mut Sim, after: i64, kind: &str| {
            if attempt >= 6 {
                sim.restart_gave_up(&name, kind);
            } else {
                // The Task's Retry (FULL jitter); with the restart queue, a new message after it.
                let bound = (30_000_i64 << attempt).min(600_000);
                let wait = (sim.rng.next_unit() * bound as f64) as i64;
                sim.push(
                    after + wait,
                    Ev::Restart {
                        name: name.clone(),
                        attempt: attempt + 1,
                    },
                );
            }
        };
        let make = || Restart {
            policies: PolicyCache::new(port.clone(), DEFAULT_POLICY_PREFIX, DEFAULT_TTL_SECONDS),
            appflow: port.clone(),
            clock: port.clone(),
            max_history_pages: HISTORY_PAGES,
        };
        let Some(i) = Self::instance(&mut self.restart, now, in_flight, make) else {
            self.out.lambda_throttled += 1;
            retry(self, now, "Lambda.TooManyRequestsException");
            return false;
        };
        self.out.restart_invocations += 1;
        let answer = match queued {
            None => match block_on(self.restart[i].handler.handle(&payload)) {
                Ok(r) => Answer::Output {
                    outcome: r.outcome.as_str().to_owned(),
                    new_execution_id: r.new_execution_id,
                    notify: r.notify,
                },
                Err(e) => Answer::Error(e.error_type().to_owned(), e.to_string()),
            },
            Some(_) => {
                let body = serde_json::json!({ "task_token": format!("token-{name}-{attempt}"), "restart": payload });
                lock(&self.shared).answer = None;
                let handled = block_on(self.restart[i].handler.handle_message(&port, &body.to_string(), None));
                let answer = lock(&self.shared).answer.take();
                match (handled, answer) {
                    (Handled::Answered, Some(Ok(output))) => {
                        let v: serde_json::Value = serde_json::from_str(&output).unwrap_or_default();
                        Answer::Output {
                            outcome: v["outcome"].as_str().unwrap_or_default().to_owned(),
                            new_execution_id: v["new_execution_id"].as_str().map(str::to_owned),
                            notify: v["notify"].as_bool().unwrap_or(false),
                        }
                    }
                    (Handled::Answered, Some(Err(kind))) => Answer::Error(kind.clone(), kind),
                    (h, _) => {
                        self.out
                            .violations
                            .push(format!("{name}: the queued restart was not answered: {h:?}"));
                        return true;
                    }
                }
            }
        };
        let took = self.sc.restart_ms + self.waited();
        let (answer, busy) = match queued {
            None => (answer, took),
            Some(_) => {
                let (_, pace_ms) = self.sc.restart_pace().unwrap_or((2, 0));
                let pace = RestartPace {
                    pace: Duration::from_millis(u64::try_from(pace_ms).unwrap_or(0)),
                };
                let rest = pace.rest(Duration::from_secs(3_600));
                let busy = took + i64::try_from(rest.as_millis()).unwrap_or(0);
                let answer = if took > RESTART_ABANDON_MS {
                    // The handler's deadline guard answers DeadlineExceeded instead (a StartFlow
                    // it made stands, and the retry's re-check finds it).
                    Answer::Error("DeadlineExceeded".into(), "past the invocation's deadline".into())
                } else {
                    answer
                };
                (answer, busy)
            }
        };
        self.restart[i].busy_until = now + busy;
        self.out.lambda_ms += busy;
        if queued.is_some() {
            self.push(now + busy, Ev::RestartPoll);
        }
        match answer {
            Answer::Output {
                outcome,
                new_execution_id,
                notify,
            } => {
                lock(&self.shared).running_executions.remove(&name);
                self.out.transitions += 2 + u64::from(notify); // AfterRestart, [Notify], Done
                if outcome == "restarted" {
                    let n = self
                        .out
                        .restarted_per_failure
                        .entry(d.execution_id.clone())
                        .or_default();
                    *n += 1;
                    if *n > 1 {
                        self.out
                            .violations
                            .push(format!("{}: restarted twice for failure {}", d.flow, d.execution_id));
                    }
                    match new_execution_id {
                        Some(id) => self.out.restart_ids.push(id),
                        None => self.out.violations.push(format!("{name}: restarted without a run id")),
                    }
                }
            }
            Answer::Error(kind, text) => match kind.as_str() {
                "InvalidInput" | "RestartRefused" | "AppFlowFailed" => {
                    self.restart_gave_up(&name, &format!("{kind}: {text}"));
                }
                _ => retry(self, now + took, &kind),
            },
        }
        true
    }

    fn sweep(&mut self, now: i64) {
        let before = lock(&self.shared).executions.len();
        // The sweep reads the intake queue's depth: a backlog stretches its grace.
        let backlog = match self.intake.len() {
            0 => IntakeBacklog::Empty,
            n => IntakeBacklog::Waiting(n as u64),
        };
        let result = block_on(self.sweep.run_with(backlog, || false));
        let took = self.sc.sweep_ms + self.waited();
        self.out.lambda_ms += took;
        let out = match result {
            Ok(out) => Some(out),
            Err(e) => {
                self.out.sweep_errors += 1;
                match e {
                    appflow_retry_runtime::SweepError::Incomplete(out) => Some(*out),
                    appflow_retry_runtime::SweepError::ListUnavailable(_) => None,
                }
            }
        };
        let recovered = out.map_or_else(Vec::new, |out| {
            self.out.sweep_examined_peak = self.out.sweep_examined_peak.max(out.examined);
            self.out.sweep_left_peak = self.out.sweep_left_peak.max(out.left_for_next_run);
            out.recovered
        });
        for r in recovered {
            if r.execution == appflow_retry_policy::ExecutionStart::Started {
                self.out.sweep_found += 1;
                if !self.out.events_lost.contains(&r.execution_id) {
                    self.out.sweep_raced += 1;
                }
                let input = lock(&self.shared).executions.get(&r.execution_name).cloned();
                if let Some(d) = input
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| serde_json::from_value::<Decision>(v["decision"].clone()).ok())
                {
                    self.decided(now + took, &d, true);
                }
            }
        }
        let after = lock(&self.shared).executions.len();
        debug_assert!(after >= before);
    }

    fn report(&self, wall_s: f64) -> Summary {
        let s = lock(&self.shared);
        let sc = &self.sc;
        println!();
        println!(
            "== {}: {} flows, {}, outage {:?} min, runs {} s, sweep every {} min, {}‰ events lost, seed {} ({:.2} s wall)",
            sc.name,
            sc.flows,
            sc.trigger,
            sc.outages,
            sc.run_seconds,
            sc.sweep_interval_minutes,
            sc.lost_per_mille,
            sc.seed,
            wall_s
        );
        let last_minute = s.stats.calls.keys().map(|(_, m)| *m).max().unwrap_or(0) + 1;
        println!(
            "{:<38} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "calls per minute", "peak", "mean", "quota/min", "throttled", "gave up"
        );
        for api in Api::ALL {
            let per: Vec<u64> = s
                .stats
                .calls
                .iter()
                .filter(|((a, _), _)| *a == api)
                .map(|(_, n)| *n)
                .collect();
            let peak = per.iter().max().copied().unwrap_or(0);
            let mean = per.iter().sum::<u64>() as f64 / last_minute as f64;
            let quota = s.buckets.get(&api).map_or(0.0, |b| b.rate * 60.0);
            println!(
                "{:<38} {:>10} {:>10.1} {:>10.0} {:>10} {:>10}",
                api.name(),
                peak,
                mean,
                quota,
                s.stats.throttles.get(&api).copied().unwrap_or(0),
                s.stats.throttled_out.get(&api).copied().unwrap_or(0)
            );
        }
        println!(
            "{:<38} {:>10} {:>10} {:>10} {:>10}",
            "Lambda concurrency (peak, limit)", self.out.lambda_peak, "", LAMBDA_LIMIT, self.out.lambda_throttled
        );
        if sc.decision_concurrency > 0 {
            println!(
                "intake queue: decision_concurrency {}, peak {} messages, oldest {:.1} min old when received",
                sc.decision_concurrency,
                self.intake_peak,
                self.intake_oldest_ms as f64 / 60_000.0
            );
        }
        println!(
            "{:<38} {:>10} {:>10} {:>10} {:>10}",
            "AppFlow StartFlow over 1,000 runs", s.stats.runs_refused_concurrency, "", RUNS_LIMIT, ""
        );
        println!(
            "{:<38} {:>10} {:>10} {:>10} {:>10}",
            "AppFlow concurrent runs (peak, limit)", s.stats.running_peak, "", RUNS_LIMIT, ""
        );
        println!(
            "{:<38} {:>10} {:>10} {:>10} {:>10}",
            "  of them restart runs (peak)", s.stats.restart_running_peak, "", "", ""
        );
        // Restarts per minute: StartFlow calls that began a restart run, per simulated minute.
        let rate = sc.restart_rate_per_minute;
        let per_minute = &s.stats.restarts_per_minute;
        let rate_peak = per_minute.values().max().copied().unwrap_or(0);
        // The mean over the minutes in which a restart started (a straggler hours later
        // would otherwise dilute it).
        let active_minutes = per_minute.len();
        let rate_mean = s.stats.restart_runs as f64 / active_minutes.max(1) as f64;
        let mut times = s.stats.restart_times.clone();
        times.sort_unstable();
        let mut sliding = 0usize;
        let mut lo = 0usize;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= 60_000 {
                lo += 1;
            }
            sliding = sliding.max(hi - lo + 1);
        }
        match sc.restart_pace() {
            Some((c, p)) => println!(
                "restart queue: restart_rate_per_minute {rate} ({c} at a time, each waiting {:.1} s after its restart); peak {} messages, oldest waited {:.1} min; restarts per minute peak {rate_peak} (any 60 s: {sliding}), mean {rate_mean:.1} over {active_minutes} min; invocations begun per minute peak {}",
                p as f64 / 1000.0,
                self.restart_queue_peak,
                self.restart_queue_oldest_ms as f64 / 60_000.0,
                self.restart_invocations_per_minute.values().max().copied().unwrap_or(0)
            ),
            None => println!(
                "restart queue: off (restart_rate_per_minute 0: the Restart task invokes the restart function); restarts per minute peak {rate_peak} (any 60 s: {sliding}), mean {rate_mean:.1} over {active_minutes} min"
            ),
        }
        // Failures: every failed run record, decided or not.
        let mut failed = 0u64;
        let mut lost = Vec::new();
        for f in &s.flows {
            for r in f.records.iter().filter(|r| r.status == RunStatus::Error) {
                failed += 1;
                if !s.executions.contains_key(&execution_name(&f.name, &r.execution_id))
                    && !self.out.parked.contains(&r.execution_id)
                {
                    lost.push(format!("{}/{}", f.name, r.execution_id));
                }
            }
        }
        let restarts_peak = s.stats.restarts_per_minute.values().max().copied().unwrap_or(0);
        println!(
            "failed runs {failed}; decided {} {:?} (sweep found {}); parked {} {:?}; lost {}; restarts {} (peak {}/min); restart failed {}; sweep errors {}",
            self.out.decided,
            self.out.by_action,
            self.out.sweep_found,
            self.out.parked.len(),
            self.out.parked_by,
            lost.len(),
            s.stats.restart_runs,
            restarts_peak,
            self.out.restart_failed,
            self.out.sweep_errors
        );
        println!(
            "sweep: found {} failures, {} of them with an event only late (not lost); at most {} flows read in one sweep, at most {} left for the next",
            self.out.sweep_found, self.out.sweep_raced, self.out.sweep_examined_peak, self.out.sweep_left_peak
        );
        // Time until every flow ran successfully again: for each flow, its
        // first successful run after its last failed one (a flapping
        // connector's flows recover between outages and fail again).
        let mut worst = Some(0i64);
        let mut never = 0usize;
        let ms_of = |t: DateTime<Utc>| (t - s.t0).num_milliseconds();
        for f in &s.flows {
            let last_failed = f
                .records
                .iter()
                .filter(|r| r.status == RunStatus::Error)
                .filter_map(|r| r.last_updated_at.or(r.started_at))
                .map(ms_of)
                .max()
                .unwrap_or(i64::MIN);
            let ok = f
                .records
                .iter()
                .filter(|r| r.status == RunStatus::Successful)
                .filter_map(|r| r.last_updated_at)
                .map(ms_of)
                .filter(|ms| *ms > last_failed)
                .min();
            match ok {
                Some(ms) => worst = worst.map(|w| w.max(ms)),
                None => never += 1,
            }
        }
        let recovered = match (never, worst) {
            (0, Some(ms)) => {
                println!(
                    "every flow ran successfully again after {:.1} min",
                    ms as f64 / 60_000.0
                );
                format!("{:.1} min", ms as f64 / 60_000.0)
            }
            _ => {
                println!(
                    "{never} of {} flows never ran successfully again within {} h",
                    sc.flows, sc.horizon_hours
                );
                format!("{never} never")
            }
        };
        let invocations = self.out.on_failure_invocations + self.out.restart_invocations;
        let gb_s = self.out.lambda_ms as f64 / 1000.0 * 0.125;
        let sfn = self.out.transitions as f64 * 0.000025;
        let lambda = gb_s * 0.000_016_666_7 + invocations as f64 * 0.000_000_2;
        let appflow = s.stats.restart_runs as f64 * 0.001;
        println!(
            "cost: SFN {} transitions ${sfn:.4}; Lambda {invocations} invocations {gb_s:.1} GB-s ${lambda:.4}; AppFlow {} restart runs ${appflow:.3}; SSM $0; total ${:.4}",
            self.out.transitions,
            s.stats.restart_runs,
            sfn + lambda + appflow
        );
        // Invariants: every restart counted was a real StartFlow; none twice for one failure.
        let mut ok = true;
        for id in &self.out.restart_ids {
            if !s.started_runs.contains(id) {
                println!("INVARIANT BROKEN: restart {id} was not started by StartFlow");
                ok = false;
            }
        }
        for v in &self.out.violations {
            println!("INVARIANT BROKEN: {v}");
            ok = false;
        }
        for l in lost.iter().take(5) {
            println!("lost: {l}");
        }
        if rate > 0 && (rate_peak as usize).max(sliding) > rate as usize {
            println!(
                "RATE EXCEEDED: {} restarts started within one minute (calendar {rate_peak}, any 60 s {sliding}), over restart_rate_per_minute {rate}",
                (rate_peak as usize).max(sliding)
            );
            ok = false;
        }
        Summary {
            name: sc.name.clone(),
            flows: sc.flows,
            rate,
            peak: rate_peak,
            mean: rate_mean,
            queue_peak: self.restart_queue_peak,
            oldest_min: self.restart_queue_oldest_ms as f64 / 60_000.0,
            recovered,
            runs_peak: s.stats.running_peak,
            restart_runs_peak: s.stats.restart_running_peak,
            parked: self.out.parked.len(),
            lost: lost.len(),
            ok: ok && lost.is_empty() && self.out.parked.is_empty(),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut scenarios = Vec::new();
    let mut rate = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--scenario" => {
                let Some(path) = it.next() else {
                    eprintln!("--scenario needs a file");
                    std::process::exit(2);
                };
                let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
                    eprintln!("{path}: {e}");
                    std::process::exit(2)
                });
                let sc: Scenario = serde_json::from_str(&text).unwrap_or_else(|e| {
                    eprintln!("{path}: {e}");
                    std::process::exit(2)
                });
                scenarios.push(sc);
            }
            "--flows" => {
                let n = it.next().and_then(|n| n.parse().ok()).unwrap_or(100);
                scenarios.push(Scenario {
                    name: format!("outage-{n}"),
                    flows: n,
                    ..Scenario::default()
                });
            }
            // restart_rate_per_minute for every scenario (0: the direct path).
            "--restart-rate" => {
                let Some(r) = it.next().and_then(|r| r.parse::<u64>().ok()) else {
                    eprintln!("--restart-rate needs a number of restarts per minute (0: none queued)");
                    std::process::exit(2);
                };
                rate = Some(r);
            }
            // cargo bench passes --bench; ignore it and anything else cargo adds.
            _ => {}
        }
    }
    if scenarios.is_empty() {
        for n in [100, 1_000, 5_000] {
            scenarios.push(Scenario {
                name: format!("outage-{n}"),
                flows: n,
                ..Scenario::default()
            });
        }
    }
    let mut summaries = Vec::new();
    for mut sc in scenarios {
        if let Some(r) = rate {
            sc.restart_rate_per_minute = r;
        }
        let wall = Instant::now();
        let mut sim = Sim::new(sc);
        sim.run();
        summaries.push(sim.report(wall.elapsed().as_secs_f64()));
    }
    println!();
    println!(
        "{:<20} {:>6} {:>5} {:>8} {:>7} {:>7} {:>8} {:>13} {:>11} {:>6} {:>5} {:>4}",
        "summary",
        "flows",
        "R",
        "peak/min",
        "mean",
        "queue",
        "oldest",
        "all recovered",
        "runs peak",
        "parked",
        "lost",
        "ok"
    );
    for m in &summaries {
        println!(
            "{:<20} {:>6} {:>5} {:>8} {:>7.1} {:>7} {:>6.1} m {:>13} {:>11} {:>6} {:>5} {:>4}",
            m.name,
            m.flows,
            m.rate,
            m.peak,
            m.mean,
            m.queue_peak,
            m.oldest_min,
            m.recovered,
            format!("{}/{}", m.runs_peak, m.restart_runs_peak),
            m.parked,
            m.lost,
            if m.ok { "yes" } else { "NO" }
        );
    }
    println!(
        "R: restart_rate_per_minute (0: no restart queue); peak/min, mean: restarts started per simulated minute (mean over minutes with one); queue, oldest: the restart queue's peak depth and longest wait; runs peak: concurrent AppFlow runs / of them restart runs (quota 1,000)"
    );
    if summaries.iter().any(|m| !m.ok) {
        eprintln!(
            "outage bench: failures were lost or parked, an invariant broke, or restarts per minute went over restart_rate_per_minute (see above)"
        );
        std::process::exit(1);
    }
}
