//! Red-team cases of the sweep's grace, its unread flows under way
//! (running executions) and its reading every candidate at once
//! (docs/design.md §5.9).

use super::*;

use appflow_retry_policy::naming::{execution_name_prefix, flow_parameter};

/// The clock of a new `World`.
fn now0() -> DateTime<Utc> {
    t0() + TimeDelta::minutes(30)
}

fn set_policy(w: &World, flow: &str, text: &str) {
    w.store
        .put(&flow_parameter(PREFIX, flow), &format!("flow: {flow}\n{text}"));
}

fn decided(w: &World, flow: &str, id: &str) -> bool {
    w.executions().contains(&execution_name(flow, id))
}

/// Every candidate lands in exactly one flow-level bucket (when no read
/// flow holds a failure inside the grace).
fn assert_buckets(out: &crate::sweep::SweepOutput) {
    assert_eq!(
        out.candidates,
        out.within_grace
            + out.already_read
            + out.in_progress
            + out.examined
            + out.outside_window
            + out.left_for_next_run,
        "{out:?}"
    );
}

// --- Running executions (`in_progress`) -----------------------------------

#[tokio::test]
async fn redteam_sweep_a_flow_named_after_another_flows_prefix_does_not_hide_it() {
    // Flow B is named `<A>-<16 hex of A's hash>` (a valid AppFlow name): every
    // execution name of B then begins with A's whole prefix, and B's running
    // execution is taken for A's.
    let w = World::new(100);
    let last = t0() - TimeDelta::minutes(40);
    let a = "waiting";
    let b = execution_name_prefix(a).trim_end_matches('-').to_owned();
    assert!(b.len() <= 26 && b.starts_with("waiting-"), "{b}");
    w.flows.add(a, "OnDemand", vec![failed("run-a", last, "x")]);
    w.flows.add(
        &b,
        "OnDemand",
        vec![failed("run-b", last - TimeDelta::minutes(10), "x")],
    );
    // B's decision waits for its backoff (started after both last runs).
    *w.machine.running.lock().unwrap() = vec![(execution_name(&b, "run-b"), last + TimeDelta::minutes(1))];
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.in_progress, 1, "only B is under way: {out:?}");
    assert!(decided(&w, a, "run-a"), "A's lost failure is hidden by B's execution");
}

#[tokio::test]
async fn redteam_sweep_non_ascii_long_and_look_alike_names_match_only_their_own_executions() {
    let w = World::new(100);
    let last = t0() - TimeDelta::minutes(40);
    let flows = [
        "données-ventes-été",                 // non-ASCII: '-' in the readable part
        "salesforce-accounts-eu-west-1-prod", // over 26 characters
        "salesforce-accounts-eu-west-1-test", // the same first 26
        "a-0123456789abcdef-b",               // dashes and hex inside the readable part
        "a",                                  // its readable part is a prefix of the one above
        "x.y",                                // '.' becomes '-' like ...
        "x-y",                                // ... this one's dash
        "flow-with-exactly-26-chars",         // the cut itself
        "flow-with-exactly-26-chars-plus",    // cut to the one above
    ];
    for f in flows {
        w.flows
            .add(f, "OnDemand", vec![failed(&format!("run-{}", f.len()), last, "x")]);
    }
    let under_way = [
        "données-ventes-été",
        "salesforce-accounts-eu-west-1-prod",
        "a-0123456789abcdef-b",
        "x.y",
        "flow-with-exactly-26-chars-plus",
    ];
    let mut running: Vec<(String, DateTime<Utc>)> = under_way
        .iter()
        .map(|f| (execution_name(f, "run-0"), last + TimeDelta::minutes(1)))
        .collect();
    // Names of other shapes, multi-byte characters at every offset the
    // slicing looks at: no panic, no match.
    let hex = format!("{:016x}", appflow_retry_policy::seed_for("a"));
    for n in 0..30 {
        running.push((format!("{}é-{hex}-x", "a".repeat(n)), last + TimeDelta::minutes(1)));
        running.push((
            format!("{}-{}é{}-x", "a".repeat(n), &hex[..8], &hex[9..]),
            last + TimeDelta::minutes(1),
        ));
        running.push(("é".repeat(n), last + TimeDelta::minutes(1)));
    }
    let listed = running.len();
    *w.machine.running.lock().unwrap() = running;
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.running_listed, Some(listed));
    assert_eq!(
        (out.candidates, out.in_progress),
        (flows.len(), under_way.len()),
        "{out:?}"
    );
    let mut read = w.reads();
    read.sort();
    read.dedup();
    let mut idle: Vec<&str> = flows.iter().copied().filter(|f| !under_way.contains(f)).collect();
    idle.sort_unstable();
    assert_eq!(read, idle);
    assert_eq!(out.recovered.len(), idle.len());
    assert_buckets(&out);
}

#[tokio::test]
async fn redteam_sweep_running_start_boundaries_and_untimed_last_runs() {
    let last = t0() - TimeDelta::minutes(40);
    let world = |start: DateTime<Utc>| {
        let w = World::new(100);
        w.flows.add("f", "OnDemand", vec![failed("run-1", last, "x")]);
        *w.machine.running.lock().unwrap() = vec![(execution_name("f", "run-0"), start)];
        w
    };
    // Started exactly at the last run: under way.
    let w = world(last);
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.in_progress, out.examined), (1, 0));
    // A millisecond before: an older failure's, the flow is read.
    let w = world(last - TimeDelta::milliseconds(1));
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.in_progress, out.examined, out.recovered.len()), (0, 1, 1));
    // No last-run time from ListFlows: read whatever runs.
    let w = world(last + TimeDelta::hours(1));
    w.flows.hide_last_run_time();
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.in_progress, out.examined, out.recovered.len()), (0, 1, 1));
}

// --- The grace --------------------------------------------------------------

#[tokio::test]
async fn redteam_sweep_a_window_no_longer_than_the_grace_is_still_swept() {
    // retry_window: 10m (the schema allows 1s..30d) and the 10-minute grace:
    // the flow is "within the grace" until it is "outside its window", so
    // no sweep ever decides its lost failure, however often it runs (but
    // for one that lands on the very instant the two meet, which sweeps
    // a minute apart, 30 s off it, never do).
    let w = World::new(100);
    set_policy(&w, "tight", "backoff: {jitter: none}\nretry_window: 10m\n");
    w.flows.add(
        "tight",
        "OnDemand",
        vec![failed("run-1", now0() - TimeDelta::seconds(30), "x")],
    );
    let mut seen = Vec::new();
    for _ in 0..30 {
        let out = w.sweep_all().run(later()).await.unwrap();
        seen.push((out.within_grace, out.outside_window, out.examined));
        w.clock.advance(TimeDelta::minutes(1));
    }
    assert!(
        decided(&w, "tight", "run-1"),
        "never decided, (within_grace, outside_window, examined) per sweep: {seen:?}"
    );
}

#[tokio::test]
async fn redteam_sweep_a_short_window_under_an_intake_backlog_is_not_lost() {
    // retry_window: 1h; the intake queue holds events all along (an outage
    // elsewhere); sweeps every 15 minutes. The 2-hour backlog grace outlasts
    // the window: the lost failure is never decided.
    let w = World::new(100);
    set_policy(&w, "hourly", "backoff: {jitter: none}\nretry_window: 1h\n");
    w.flows.add(
        "hourly",
        "OnDemand",
        vec![failed("run-1", now0() - TimeDelta::minutes(1), "x")],
    );
    let mut seen = Vec::new();
    for _ in 0..16 {
        let out = w
            .sweep_all()
            .run_with(IntakeBacklog::Waiting(300), || false)
            .await
            .unwrap();
        seen.push((out.within_grace, out.outside_window, out.examined));
        w.clock.advance(TimeDelta::minutes(15));
    }
    assert!(
        decided(&w, "hourly", "run-1"),
        "never decided, (within_grace, outside_window, examined) per sweep: {seen:?}"
    );
}

#[tokio::test]
async fn redteam_sweep_grace_cutoff_boundaries() {
    let cutoff = now0() - TimeDelta::minutes(SWEEP_GRACE_MINUTES);
    // A last run exactly at the cutoff: read and decided.
    let w = World::new(100);
    w.flows.add("edge", "OnDemand", vec![failed("run-1", cutoff, "x")]);
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.within_grace, out.examined, out.recovered.len()), (0, 1, 1));
    // A millisecond later: the event path's.
    let w = World::new(100);
    w.flows.add(
        "edge",
        "OnDemand",
        vec![failed("run-1", cutoff + TimeDelta::milliseconds(1), "x")],
    );
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.within_grace, out.examined, out.recovered.len()), (1, 0, 0));
    // Untimed ListFlows: the records' own times decide, the same way.
    let w = World::new(100);
    w.flows.add(
        "edge",
        "OnDemand",
        vec![
            failed("run-1", cutoff, "x"),
            failed("run-2", cutoff + TimeDelta::milliseconds(1), "x"),
        ],
    );
    w.flows.hide_last_run_time();
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.within_grace, out.examined), (1, 1));
    let ids: Vec<&str> = out.recovered.iter().map(|r| r.execution_id.as_str()).collect();
    assert_eq!(ids, vec!["run-1"]);
    // Not remembered: the next sweep, once the grace passed, decides run-2.
    w.clock.advance(TimeDelta::minutes(1));
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.already_read, 0);
    assert!(decided(&w, "edge", "run-2"));
}

#[tokio::test]
async fn redteam_sweep_a_last_run_in_the_future_waits_and_is_then_decided() {
    // AppFlow's clock ahead of Lambda's by 5 minutes.
    let w = World::new(100);
    w.flows.add(
        "skew",
        "OnDemand",
        vec![failed("run-1", now0() + TimeDelta::minutes(5), "x")],
    );
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.within_grace, out.examined), (1, 0));
    w.clock.advance(TimeDelta::minutes(16));
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!((out.within_grace, out.examined, out.recovered.len()), (0, 1, 1));
}

// --- Reading every candidate, 4 at a time --------------------------------------

/// 24 candidates of every kind: fresh, outside the window, under way, and
/// idle ones with one or two failures.
fn mixed(w: &World) -> usize {
    let now = now0();
    let mut idle = 0;
    for i in 0..24 {
        let flow = format!("flow-{i:02}");
        let at = now - TimeDelta::minutes(15 + i);
        match i % 6 {
            0 => w.flows.add(
                &flow,
                "OnDemand",
                vec![failed("run-f", now - TimeDelta::minutes(2), "x")],
            ),
            1 => w
                .flows
                .add(&flow, "OnDemand", vec![failed("run-o", now - TimeDelta::hours(7), "x")]),
            2 => {
                w.flows.add(&flow, "OnDemand", vec![failed("run-r", at, "x")]);
                w.machine
                    .running
                    .lock()
                    .unwrap()
                    .push((execution_name(&flow, "run-r"), at + TimeDelta::minutes(1)));
            }
            _ => {
                idle += 1;
                w.flows.add(
                    &flow,
                    "OnDemand",
                    vec![
                        failed("run-1", at - TimeDelta::minutes(30), "x"),
                        failed("run-2", at, "x"),
                    ],
                );
            }
        }
    }
    idle
}

#[tokio::test]
async fn redteam_sweep_a_deadline_with_concurrency_keeps_every_count_and_loses_nothing() {
    for concurrency in [1, 4, 16] {
        let w = World::new(100);
        let idle = mixed(&w);
        let limits = SweepLimits {
            concurrency,
            ..SweepLimits::default()
        };
        // The time runs out after 5 executions.
        let sweep = w.sweep(Coverage::all(), limits);
        let out = sweep.run_until(|| w.executions().len() >= 5).await.unwrap();
        assert_eq!(out.candidates, 24);
        // The fresh flows are found fresh when reached (after their policy,
        // which the grace is capped by): those the deadline left are left.
        assert_eq!(out.in_progress, 4, "{out:?}");
        assert!(out.within_grace <= 4, "{out:?}");
        assert_eq!(out.stopped_by, Some("deadline"));
        assert_buckets(&out);
        assert!(out.left_for_next_run > 0, "{concurrency}: {out:?}");
        assert_eq!(
            out.failures_seen,
            out.recovered.len() + out.already_handled,
            "{concurrency}: {out:?}"
        );
        // No more than in flight when it expired.
        assert!(out.recovered.len() <= 5 + concurrency, "{concurrency}: {out:?}");
        // Whatever was left, the next sweeps (same instance, its memory)
        // decide every idle failure exactly once.
        for _ in 0..3 {
            w.clock.advance(TimeDelta::minutes(1));
            let out = sweep.run(later()).await.unwrap();
            assert_buckets(&out);
        }
        let mut names = w.executions();
        let all = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all, "no name started twice");
        assert_eq!(names.len(), 2 * idle, "{concurrency}");
    }
}

#[tokio::test]
async fn redteam_sweep_max_flows_with_concurrency_and_memory() {
    let w = World::new(100);
    let idle = mixed(&w);
    let limits = SweepLimits {
        max_flows: 3,
        concurrency: 4,
        ..SweepLimits::default()
    };
    let sweep = w.sweep(Coverage::all(), limits);
    let out = sweep.run(later()).await.unwrap();
    assert_eq!(out.stopped_by, Some("max_flows"));
    // The bound takes 3 flows (read, outside their window, or fresh).
    assert_eq!(
        out.candidates - out.in_progress - out.already_read - out.left_for_next_run,
        3,
        "{out:?}"
    );
    assert_buckets(&out);
    // Flows read completely are remembered; the bound walks on (and the
    // fresh flows' failures, 2 minutes old, leave the grace on the way).
    for _ in 0..40 {
        w.clock.advance(TimeDelta::minutes(1));
        let out = sweep.run(later()).await.unwrap();
        assert_buckets(&out);
    }
    let fresh = 4;
    assert_eq!(w.executions().len(), 2 * idle + fresh);
}

#[tokio::test]
async fn redteam_sweep_concurrent_reports_merge_every_field() {
    let report = |concurrency| async move {
        let w = World::new(100);
        let long = "x".repeat(257);
        for i in 0..12 {
            let flow = format!("flow-{i:02}");
            let at = t0() - TimeDelta::minutes(i);
            w.flows.add(
                &flow,
                "OnDemand",
                vec![
                    failed(&long, at - TimeDelta::minutes(30), "x"),
                    failed("run-h", at - TimeDelta::minutes(20), "x"),
                    failed("run-n", at, "x"),
                ],
            );
            if i % 2 == 0 {
                w.on_failure().handle(&event(&flow, "run-h")).await.unwrap();
            }
        }
        let limits = SweepLimits {
            concurrency,
            ..SweepLimits::default()
        };
        let out = w.sweep(Coverage::all(), limits).run(later()).await.unwrap();
        serde_json::to_value(&out).unwrap()
    };
    let one = report(1).await;
    assert_eq!(one["examined"], 12);
    assert_eq!(one["failures_seen"], 36);
    assert_eq!(one["already_handled"], 6);
    assert_eq!(one["refused"].as_array().unwrap().len(), 12);
    assert_eq!(one["recovered"].as_array().unwrap().len(), 18);
    assert_eq!(report(4).await, one);
    assert_eq!(report(32).await, one);
}

// --- Double counting ----------------------------------------------------------

#[tokio::test]
async fn redteam_sweep_a_record_listed_twice_is_counted_once() {
    // DescribeFlowExecutionRecords gives the same run on two pages (a run
    // added while the pages are read shifts them).
    let w = World::new(1);
    w.flows.add(
        "twice",
        "OnDemand",
        vec![
            failed("run-1", t0(), "x"),
            failed("run-1", t0(), "x"),
            record("ok-0", RunStatus::Successful, t0() - TimeDelta::minutes(30)),
        ],
    );
    let out = w.sweep_all().run(later()).await.unwrap();
    assert_eq!(out.recovered.len(), 1);
    assert_eq!(w.executions().len(), 1);
    assert_eq!(
        (out.failures_seen, out.already_handled),
        (1, 0),
        "one failure, no event came: {out:?}"
    );
}
