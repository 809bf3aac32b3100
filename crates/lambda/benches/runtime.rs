//! Runtime numbers for `make bench` (a script that prints, not criterion):
//!
//! 1. cold start of the release `on-failure` binary under a local Lambda
//!    Runtime API: process start to its first response, and its peak memory
//!    (VmHWM) after serving it;
//! 2. AWS calls for 1,000 failure events over 200 flows in one warm
//!    process: GetParameters, DescribeFlowExecutionRecords, StartExecution;
//! 3. the reconciliation sweep over 200 flows of which 5 failed with no
//!    event: AppFlow calls by operation (the emulator counts them), Step
//!    Functions calls, and the sweep's duration; then the same sweep once
//!    the 5 are handled.
//!
//! Needs moto (`make venv`); AWS is replaced by moto and the AppFlow emulator
//! on loopback, so the times include their replies, not AWS's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use appflow_emulator::{Emulator, Flow, Operation, Run};
use appflow_retry_aws::{AppFlowSdkRetry, AwsAppFlow, SfnStateMachine, SsmParameterStore, sdk_config_for_endpoint};
use appflow_retry_policy::naming::{DEFAULT_POLICY_PREFIX as PREFIX, default_parameter, flow_parameter};
use appflow_retry_runtime::ports::{
    AppFlow, FlowInfo, FlowsPage, ParameterStore, PortError, RecordsPage, StartOutcome, StateMachine, SystemClock,
};
use appflow_retry_runtime::{Coverage, OnFailure, PolicyCache, Sweep, SweepLimits};
use appflow_retry_testkit::lambda_api::RuntimeApi;
use appflow_retry_testkit::moto::Moto;
use appflow_retry_testkit::service::{self, ASL};
use chrono::{TimeDelta, Utc};

/// Counts the calls that pass through a port.
struct Counting<P> {
    inner: P,
    calls: AtomicUsize,
}

impl<P> Counting<P> {
    fn new(inner: P) -> Self {
        Counting {
            inner,
            calls: AtomicUsize::new(0),
        }
    }
    fn count(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

impl<P: ParameterStore> ParameterStore for Counting<P> {
    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<String>>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.get_many(names).await
    }
}

impl<P: AppFlow> AppFlow for Counting<P> {
    async fn list_flows(&self, token: Option<String>) -> Result<FlowsPage, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.list_flows(token).await
    }
    async fn execution_records(&self, flow: &str, token: Option<String>) -> Result<RecordsPage, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.execution_records(flow, token).await
    }
    async fn describe_flow(&self, flow: &str) -> Result<Option<FlowInfo>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.describe_flow(flow).await
    }
    async fn start_flow(&self, flow: &str, token: &str) -> Result<Option<String>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.start_flow(flow, token).await
    }
}

impl<P: StateMachine> StateMachine for Counting<P> {
    async fn start_execution(&self, name: &str, input: &str) -> Result<StartOutcome, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.start_execution(name, input).await
    }
    async fn execution_exists(&self, name: &str) -> Result<bool, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.execution_exists(name).await
    }
    async fn execution_input(&self, name: &str) -> Result<Option<String>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.execution_input(name).await
    }
    async fn running_executions(
        &self,
        next_token: Option<String>,
    ) -> Result<appflow_retry_runtime::ports::RunningPage, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.running_executions(next_token).await
    }
}

async fn setup() -> (Moto, Emulator, String) {
    let moto = Moto::start_async().await.expect("moto (run `make venv`)");
    let emulator = Emulator::start().await.unwrap();
    let config = sdk_config_for_endpoint(moto.endpoint()).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    service::put_parameter(
        &ssm,
        &default_parameter(PREFIX),
        include_str!("../../../policies/default.yaml"),
    )
    .await
    .unwrap();
    let sfn = aws_sdk_sfn::Client::new(&config);
    // Where the Restart task of an execution that gets that far queues its restart.
    service::create_restart_queue(&aws_sdk_sqs::Client::new(&config))
        .await
        .unwrap();
    let asl = service::render_asl(ASL, "arn:aws:sns:us-east-1:123456789012:none");
    let arn = service::create_state_machine(&sfn, "bench", &asl).await.unwrap();
    (moto, emulator, arn)
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn cold_starts(moto: &Moto, emulator: &Emulator, arn: &str, runs: usize) {
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for i in 0..runs {
        let flow = format!("cold-{i}");
        emulator.add_flow(Flow::on_demand(&flow));
        let event = emulator.fail_run(
            &flow,
            &format!("cold-run-{i}"),
            Utc::now() - TimeDelta::minutes(3),
            "Read timed out",
        );
        let api = RuntimeApi::start().await.unwrap();
        let appflow = emulator.endpoint();
        let env = [
            ("AWS_ENDPOINT_URL", moto.endpoint()),
            ("AWS_ENDPOINT_URL_APPFLOW", appflow.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("APPFLOW_RETRY_STATE_MACHINE_ARN", arn),
        ];
        let started = Instant::now();
        let child = api
            .function_command(Path::new(env!("CARGO_BIN_EXE_on-failure")), &env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = api.invoke(event).await.unwrap();
        times.push(started.elapsed());
        assert_eq!(out["decision"]["action"], "retry");
        if let Some(kib) = child.id().and_then(vm_hwm_kib) {
            peaks.push(kib);
        }
        drop(child);
    }
    times.sort();
    peaks.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "on-failure cold start (process start to first response, {runs} runs): median {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms(times[runs / 2]),
        ms(times[0]),
        ms(times[runs - 1])
    );
    if !peaks.is_empty() {
        println!(
            "on-failure peak memory after the first response (VmHWM): median {:.1} MiB, max {:.1} MiB",
            peaks[peaks.len() / 2] as f64 / 1024.0,
            peaks[peaks.len() - 1] as f64 / 1024.0
        );
    }
}

async fn warm_counts(moto: &Moto, emulator: &Emulator, arn: &str) {
    const FLOWS: usize = 200;
    const EVENTS: usize = 1000;
    let config = sdk_config_for_endpoint(moto.endpoint()).await;
    let appflow_config = sdk_config_for_endpoint(&emulator.endpoint()).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    for f in (0..FLOWS).step_by(4) {
        // A quarter of the flows have their own policy parameter.
        let text = format!("flow: warm-{f}\nmax_retries: 5\n");
        service::put_parameter(&ssm, &flow_parameter(PREFIX, &format!("warm-{f}")), &text)
            .await
            .unwrap();
    }
    let mut events = Vec::new();
    for f in 0..FLOWS {
        emulator.add_flow(Flow::on_demand(&format!("warm-{f}")));
    }
    for e in 0..EVENTS {
        let flow = format!("warm-{}", e % FLOWS);
        let id = format!("warm-run-{e}");
        events.push(emulator.fail_run(&flow, &id, Utc::now() - TimeDelta::minutes(3), "Read timed out"));
    }
    let handler = OnFailure {
        policies: PolicyCache::new(Counting::new(SsmParameterStore::new(&config)), PREFIX, 60),
        appflow: Counting::new(AwsAppFlow::new(&appflow_config, &AppFlowSdkRetry::default())),
        state_machine: Counting::new(SfnStateMachine::new(&config, arn)),
        clock: SystemClock,
        max_history_pages: 3,
    };
    let started = Instant::now();
    for e in &events {
        handler.handle(e).await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "warm process, {EVENTS} failure events over {FLOWS} flows in {:.2} s ({:.2} ms/event incl. emulator replies):",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / EVENTS as f64
    );
    println!(
        "  SSM GetParameters:                 {}",
        handler.policies.store().count()
    );
    println!("  AppFlow DescribeFlowExecutionRecords: {}", handler.appflow.count());
    println!("  Step Functions StartExecution:     {}", handler.state_machine.count());
}

async fn sweep_counts(moto: &Moto, arn: &str) {
    const FLOWS: usize = 200;
    const FAILED: usize = 5;
    const RUNS: i64 = 20;
    let emulator = Emulator::start().await.unwrap();
    let config = sdk_config_for_endpoint(moto.endpoint()).await;
    let appflow_config = sdk_config_for_endpoint(&emulator.endpoint()).await;
    let now = Utc::now();
    for f in 0..FLOWS {
        let flow = format!("sweep-{f:03}");
        emulator.add_flow(Flow::on_demand(&flow));
        // 20 hourly runs; every 40th flow's newest run failed, its event lost.
        for r in 1..=RUNS {
            let at = now - TimeDelta::hours(r) - TimeDelta::minutes(10);
            emulator.add_run(
                &flow,
                Run {
                    execution_id: format!("{flow}-ok-{r}"),
                    status: "Successful".into(),
                    started_at: Some(at),
                    last_updated_at: Some(at + TimeDelta::minutes(1)),
                    message: None,
                },
            );
        }
        if f % (FLOWS / FAILED) == 0 {
            emulator.fail_run(
                &flow,
                &format!("{flow}-lost"),
                now - TimeDelta::minutes(5),
                "Read timed out",
            );
        }
    }
    let sweep = Sweep::new(
        OnFailure {
            policies: PolicyCache::new(Counting::new(SsmParameterStore::new(&config)), PREFIX, 60),
            appflow: AwsAppFlow::new(&appflow_config, &AppFlowSdkRetry::default()),
            state_machine: Counting::new(SfnStateMachine::new(&config, arn)),
            clock: SystemClock,
            max_history_pages: 20,
        },
        Coverage::all(),
        SweepLimits::default(),
    );
    for pass in ["first sweep (5 lost events)", "next sweep (all handled)"] {
        let calls_before = emulator.calls().len();
        let (ssm_before, sfn_before) = (
            sweep.on_failure.policies.store().count(),
            sweep.on_failure.state_machine.count(),
        );
        let list_before = emulator.count(Operation::ListFlows);
        let records_before = emulator.count(Operation::DescribeFlowExecutionRecords);
        let describe_before = emulator.count(Operation::DescribeFlow);
        let started = Instant::now();
        let out = sweep.run(Instant::now() + Duration::from_secs(120)).await.unwrap();
        let elapsed = started.elapsed();
        println!(
            "sweep over {FLOWS} flows ({RUNS} runs each), {pass}: {:.1} ms, {} recovered, {} already handled",
            elapsed.as_secs_f64() * 1000.0,
            out.recovered.len(),
            out.already_handled
        );
        println!(
            "  AppFlow calls: {} (ListFlows {}, DescribeFlowExecutionRecords {}, DescribeFlow {})",
            emulator.calls().len() - calls_before,
            emulator.count(Operation::ListFlows) - list_before,
            emulator.count(Operation::DescribeFlowExecutionRecords) - records_before,
            emulator.count(Operation::DescribeFlow) - describe_before
        );
        println!(
            "  Step Functions DescribeExecution + StartExecution: {}; SSM GetParameters: {}",
            sweep.on_failure.state_machine.count() - sfn_before,
            sweep.on_failure.policies.store().count() - ssm_before
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run only for benches.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (moto, emulator, arn) = setup().await;
        cold_starts(&moto, &emulator, &arn, 10).await;
        warm_counts(&moto, &emulator, &arn).await;
        sweep_counts(&moto, &arn).await;
    });
}
