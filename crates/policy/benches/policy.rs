//! decide() throughput and policy resolution cost: `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use appflow_retry_policy::{
    FailureEvent, FlowPolicy, Policy, PolicyFile, ResolvedPolicy, RunRecord, RunStatus, SplitMix64, decide,
};
use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn policy() -> FlowPolicy {
    let file: PolicyFile = serde_yaml::from_str(
        "max_retries: 5\nerror_classes:\n  - {name: sf_api_limit, patterns: [REQUEST_LIMIT_EXCEEDED, TotalRequests Limit]}\n  - {name: sf_row_lock, patterns: [UNABLE_TO_LOCK_ROW]}\noverrides: {sf_api_limit: {max_retries: 2}}\n",
    )
    .unwrap();
    FlowPolicy::Usable(ResolvedPolicy::new("bench".into(), Policy::default().merged(&file)).unwrap())
}

/// A history of `n` records: the failed run, then older runs alternating
/// a few errors and a success, as 3 pages of DescribeFlowExecutionRecords hold.
fn history(n: usize) -> Vec<RunRecord> {
    (0..n)
        .map(|i| RunRecord {
            execution_id: if i == 0 { "failed".into() } else { format!("run-{i}") },
            status: if i % 4 == 3 {
                RunStatus::Successful
            } else {
                RunStatus::Error
            },
            started_at: Some(t0() - TimeDelta::minutes(10 * i as i64)),
            last_updated_at: None,
            message: Some("Read timed out".into()),
        })
        .collect()
}

fn event(msg: &str) -> FailureEvent {
    FailureEvent {
        flow_name: "salesforce-accounts".into(),
        execution_id: "failed".into(),
        trigger_type: Some("OnDemand".into()),
        status: Some("Execution Failed".into()),
        error: Some(msg.into()),
        start_time: Some(t0()),
        time: Some(t0()),
    }
}

fn bench(c: &mut Criterion) {
    let p = policy();
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));
    for (name, n, msg) in [
        (
            "10_records_custom_class",
            10,
            "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
        ),
        ("300_records_unknown_class", 300, "something nobody has seen before"),
    ] {
        let records = history(n);
        let e = event(msg);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut rng = SplitMix64::for_execution(&e.execution_id);
                black_box(decide(
                    black_box(&e),
                    black_box(&records),
                    &p,
                    t0() + TimeDelta::minutes(5),
                    &mut rng,
                ))
            })
        });
    }
    g.finish();

    let default = ("/appflow-retry/default", include_str!("../../../policies/default.yaml"));
    let flow = (
        "/appflow-retry/flows/salesforce-accounts",
        include_str!("../../../policies/flows/salesforce-accounts.yaml"),
    );
    c.bench_function("resolve_from_ssm_texts", |b| {
        b.iter(|| black_box(FlowPolicy::from_texts("salesforce-accounts", Some(default), Some(flow))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
