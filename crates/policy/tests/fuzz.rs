//! Property fuzzing on stable Rust (issue #8, items 2, 6 and 8): the event
//! parser, the policy loader and `decide()` on arbitrary and mutated input
//! never panic, stay within a time bound, and keep their promises: an event
//! error names a known field, a usable policy passes every rule, and nothing
//! is retried without the failed run's own `Error` record.
//!
//! Seeds are fixed and failures are not persisted: every run tries the same
//! cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use std::time::{Duration, Instant};

use appflow_retry_policy::appflow::MAX_NAME_CHARS;
use appflow_retry_policy::naming::{default_parameter, flow_parameter};
use appflow_retry_policy::validate::check_policy;
use appflow_retry_policy::yaml::YamlDoc;
use appflow_retry_policy::{
    Action, FailureEvent, FileKind, FlowPolicy, MAX_MESSAGE_BYTES, PolicySource, RunRecord, RunStatus, SplitMix64,
    Undecided, decide, validate_sources,
};
use chrono::{DateTime, TimeDelta, Utc};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Map, Value, json};

fn config(seed: u64) -> Config {
    Config {
        cases: 256,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Per case: a hang or an amplification shows up as seconds.
const CASE_BOUND: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------- events

/// Every field an event error may name.
const EVENT_FIELDS: &[&str] = &[
    "(event)",
    "source",
    "detail-type",
    "detail",
    "detail.flow-name",
    "detail.execution-id",
    "detail.status",
    "detail.start-time",
];

/// Every field a degradation note may name.
const NOTE_FIELDS: &[&str] = &[
    "time",
    "detail.start-time",
    "detail.error",
    "detail.trigger-type",
    "detail.status",
];

/// The fields of the event, as JSON pointers.
const EVENT_POINTERS: &[&str] = &[
    "/source",
    "/detail-type",
    "/time",
    "/detail",
    "/detail/flow-name",
    "/detail/execution-id",
    "/detail/trigger-type",
    "/detail/status",
    "/detail/error",
    "/detail/start-time",
    "/version",
    "/detail/num-of-records-processed",
];

fn valid_event() -> Value {
    json!({
        "version": "0",
        "id": "a0b1",
        "source": "aws.appflow",
        "detail-type": "AppFlow End Flow Run Report",
        "account": "123456789012",
        "time": "2026-11-29T09:06:21Z",
        "region": "us-east-1",
        "resources": ["x"],
        "detail": {
            "flow-name": "sf-accounts",
            "execution-id": "9aa00099-9943-449a-9c7a-488dbc801242",
            "trigger-type": "ONDEMAND",
            "num-of-records-processed": "0",
            "start-time": "2026-11-29T09:02:47.643Z[UTC]",
            "status": "Execution Failed",
            "error": "REQUEST_LIMIT_EXCEEDED"
        }
    })
}

fn huge_string() -> impl Strategy<Value = String> {
    (
        0usize..300_000,
        prop_oneof![Just("x"), Just("é"), Just("\u{1F600}"), Just("\u{200b}")],
    )
        .prop_map(|(bytes, unit)| unit.repeat(bytes / unit.len()))
}

fn interesting_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[ -~]{0,40}",
        2 => prop_oneof![
            Just(String::new()),
            Just("   ".to_owned()),
            Just("aws.appflow".to_owned()),
            Just("AppFlow End Flow Run Report".to_owned()),
            Just("Execution Successful".to_owned()),
            Just("Execution Canceled".to_owned()),
            Just("ONDEMAND".to_owned()),
            Just("SCHEDULED".to_owned()),
            Just("2026-11-29T09:02:47.643Z[UTC]".to_owned()),
            Just("2026-11-29T09:02:47Z".to_owned()),
            Just("2026-13-45T99:99:99Z".to_owned()),
            Just("+275760-09-13T00:00:00Z".to_owned()),
            Just("yesterday".to_owned()),
            Just("[UTC]".to_owned()),
            Just("a".repeat(MAX_NAME_CHARS)),
            Just("a".repeat(MAX_NAME_CHARS + 1)),
            Just("é".repeat(MAX_NAME_CHARS)),
            Just("\u{202e}\u{200b}\0\n\r\t".to_owned()),
        ],
        1 => huge_string(),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        interesting_string().prop_map(Value::from),
    ]
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "source", "detail-type", "detail", "time", "flow-name", "execution-id", "trigger-type",
            "status", "error", "start-time", "version",
        ])
        .prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(json_key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid event with some fields replaced by arbitrary values or removed.
fn mutated_event() -> impl Strategy<Value = Value> {
    vec(
        (
            prop::sample::select(EVENT_POINTERS.to_vec()),
            prop::option::weighted(0.85, json_value()),
        ),
        1..5,
    )
    .prop_map(|mutations| {
        let mut event = valid_event();
        for (pointer, value) in mutations {
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let Some(Value::Object(obj)) = event.pointer_mut(parent) else {
                continue;
            };
            match value {
                Some(v) => {
                    obj.insert(key.to_owned(), v);
                }
                None => {
                    obj.remove(key);
                }
            }
        }
        event
    })
}

/// A valid envelope around an arbitrary `detail` object.
fn arbitrary_detail() -> impl Strategy<Value = Value> {
    btree_map(json_key(), json_value(), 0..10).prop_map(|detail| {
        let mut event = valid_event();
        event["detail"] = Value::Object(detail.into_iter().collect());
        event
    })
}

fn check_event(v: &Value) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let parsed = FailureEvent::parse(v);
    prop_assert!(started.elapsed() < CASE_BOUND, "parse took {:?}", started.elapsed());
    match parsed {
        Ok((e, notes)) => {
            prop_assert!(!e.flow_name.is_empty() && e.flow_name.chars().count() <= MAX_NAME_CHARS);
            prop_assert!(!e.execution_id.is_empty() && e.execution_id.chars().count() <= MAX_NAME_CHARS);
            prop_assert_eq!(e.flow_name.trim(), e.flow_name.as_str());
            if let Some(error) = &e.error {
                prop_assert!(error.len() <= MAX_MESSAGE_BYTES, "{} bytes", error.len());
                prop_assert!(!error.trim().is_empty());
            }
            prop_assert!(e.start_time.is_some() || e.time.is_some());
            prop_assert_ne!(e.status.as_deref(), Some("Execution Successful"));
            for n in &notes {
                prop_assert!(NOTE_FIELDS.contains(&n.field.as_str()), "note on {}", n.field);
                prop_assert!(n.note.len() <= 2 * MAX_MESSAGE_BYTES, "{} bytes of note", n.note.len());
            }
            let _ = (e.is_cancelled(), e.is_on_demand());
        }
        Err(err) => {
            prop_assert!(EVENT_FIELDS.contains(&err.field.as_str()), "error on {}", err.field);
            prop_assert!(
                err.problem.len() <= 2 * MAX_MESSAGE_BYTES,
                "{} bytes of problem",
                err.problem.len()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(8_001))]

    #[test]
    fn arbitrary_json_never_breaks_the_event_parser(v in json_value()) {
        check_event(&v)?;
    }

    #[test]
    fn mutated_events_are_parsed_or_name_their_field(v in mutated_event()) {
        check_event(&v)?;
    }

    #[test]
    fn arbitrary_details_are_parsed_or_name_their_field(v in arbitrary_detail()) {
        check_event(&v)?;
    }
}

#[test]
fn the_fuzzed_fields_are_reached() {
    // The valid event is accepted as is, so mutations exercise each field.
    let (e, notes) = FailureEvent::parse(&valid_event()).unwrap();
    assert!(notes.is_empty());
    assert_eq!(e.flow_name, "sf-accounts");
    let mut v = valid_event();
    v["detail"]["error"] = json!("é".repeat(150_000));
    let e = FailureEvent::from_json(&v).unwrap();
    assert!(e.error.unwrap().len() <= MAX_MESSAGE_BYTES);
}

// ---------------------------------------------------------------- policies

const FLOW: &str = "x";
const DEFAULT_TEXT: &str = "max_retries: 4\n";

const KEYS: &[&str] = &[
    "flow",
    "enabled",
    "max_retries",
    "retry_window",
    "backoff",
    "strategy",
    "initial_delay",
    "multiplier",
    "max_delay",
    "jitter",
    "skip_errors",
    "error_classes",
    "name",
    "patterns",
    "overrides",
    "throttling",
    "transient",
    "unknown",
    "sf_limit",
    "notify",
    "<<",
    "max_retry",
    "? x",
];

const VALUES: &[&str] = &[
    "&a",
    "&a x",
    "*a",
    "[",
    "]",
    "{",
    "}",
    "[auth, throttling]",
    "[sf_limit]",
    "{max_retries: 2}",
    "{initial_delay: 2h}",
    "{name: sf_limit, patterns: [LIMIT]}",
    "90s",
    "1h30m",
    "0s",
    "31d",
    "30d",
    "1H",
    "2m",
    "1s",
    "3",
    "-1",
    "3.5",
    "1e3",
    "101",
    "0",
    "10",
    "true",
    "false",
    "no",
    "~",
    "",
    "!!str x",
    "!custom",
    "'('",
    "\"\\\\w{20}x\\\\w{20}\"",
    "fixed",
    "linear",
    "exponential",
    "full",
    "none",
    "equal",
    "retry",
    "give_up",
    "[retry, skip]",
    "x",
    "y",
    "sf_limit",
    "REQUEST_LIMIT",
    "\"\u{202e}x\u{200b}\"",
    "|",
    ">",
    "---",
    "# c",
    "\t",
    "'",
    "\"",
    "\u{feff}",
    "\0",
];

fn yaml_line() -> impl Strategy<Value = String> {
    let indent = prop::sample::select(vec!["", "  ", "    ", "      ", " "]);
    let key = prop::sample::select(KEYS.to_vec());
    let value = prop::sample::select(VALUES.to_vec());
    (indent, 0u8..5, key, value).prop_map(|(indent, shape, key, value)| match shape {
        0 | 1 => format!("{indent}{key}: {value}"),
        2 => format!("{indent}- {value}"),
        3 => format!("{indent}{key}:"),
        _ => format!("{indent}- {key}: {value}"),
    })
}

fn yamlish_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        vec(yaml_line(), 0..14),
        prop::sample::select(vec!["\n", "\r\n"]),
    )
        .prop_map(|(with_flow, lines, eol)| {
            let mut text = if with_flow {
                format!("flow: {FLOW}{eol}")
            } else {
                String::new()
            };
            for l in lines {
                text.push_str(&l);
                text.push_str(eol);
            }
            text
        })
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~\n\t]{0,400}",
        "[\\[\\]{}:&*!|>\\-\n ab,\"']{0,200}"
    ]
}

/// Checks one text in the three places a text can be; how many were usable.
fn check_policy_text(text: &str) -> Result<usize, TestCaseError> {
    let mut usable = 0;
    let started = Instant::now();
    let _ = YamlDoc::parse("f.yaml", text);
    prop_assert!(
        started.elapsed() < CASE_BOUND,
        "YamlDoc::parse took {:?}",
        started.elapsed()
    );

    let (dn, fname) = (default_parameter("/p"), flow_parameter("/p", FLOW));
    let cases = [
        (Some((dn.as_str(), DEFAULT_TEXT)), Some((fname.as_str(), text))),
        (Some((dn.as_str(), text)), None),
        (Some((dn.as_str(), text)), Some((fname.as_str(), "flow: x\n"))),
    ];
    for (default, flow_text) in cases {
        let started = Instant::now();
        let policy = FlowPolicy::from_texts(FLOW, default, flow_text);
        prop_assert!(
            started.elapsed() < CASE_BOUND,
            "from_texts took {:?}",
            started.elapsed()
        );
        match policy {
            FlowPolicy::Usable(p) => {
                usable += 1;
                let problems = check_policy(&p.policy);
                prop_assert!(problems.is_empty(), "usable but {:?}", problems);
                if let Some((name, _)) = flow_text {
                    prop_assert_eq!(p.source.as_str(), name);
                }
            }
            FlowPolicy::Broken(b) => {
                prop_assert!(!b.problems.is_empty());
                // The CLI path reports something too (a file naming another
                // flow is that flow's file there: the CLI reads `flow` from it).
                let other_flow = b.problems.iter().any(|d| d.message.contains("names another flow"));
                if !other_flow {
                    let sources: Vec<PolicySource> = [(default, FileKind::Default), (flow_text, FileKind::Flow)]
                        .into_iter()
                        .filter_map(|(s, kind)| {
                            s.map(|(file, text)| PolicySource {
                                file: file.to_owned(),
                                text: text.to_owned(),
                                kind,
                            })
                        })
                        .collect();
                    prop_assert!(!validate_sources(&sources, None).diagnostics.is_empty());
                }
            }
        }
    }
    Ok(usable)
}

proptest! {
    #![proptest_config(config(8_002))]

    #[test]
    fn arbitrary_text_never_breaks_the_policy_loader(text in arbitrary_text()) {
        check_policy_text(&text)?;
    }
}

#[test]
fn yamlish_text_is_refused_or_passes_every_rule() {
    let usable = std::cell::Cell::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(config(8_004));
    let result = runner.run(&yamlish_text(), |text| {
        usable.set(usable.get() + check_policy_text(&text)?);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Some generated texts are real policies: the rules are checked on them.
    assert!(usable.get() >= 10, "{} usable", usable.get());
}

#[test]
fn the_yaml_grammar_reaches_usable_policies() {
    // Not everything the grammar makes is broken: these pass, so the
    // property above checks real policies too.
    for text in [
        "flow: x\nmax_retries: 3\nbackoff:\n  strategy: fixed\n  initial_delay: 90s\n",
        "flow: x\r\nnotify: [retry, skip]\r\n",
        "flow: x\nerror_classes:\n  - name: sf_limit\n    patterns: [REQUEST_LIMIT]\noverrides:\n  sf_limit:\n    max_retries: 2\n",
    ] {
        let p = FlowPolicy::from_texts(FLOW, Some(("/p/default", DEFAULT_TEXT)), Some(("/p/flows/x", text)));
        assert!(p.usable().is_some(), "{text}");
    }
}

// ---------------------------------------------------------------- decide()

const FAILED: &str = "failed";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn at(minutes: Option<i64>) -> Option<DateTime<Utc>> {
    minutes.map(|m| t0() + TimeDelta::minutes(m))
}

const POLICIES: &[&str] = &[
    "",
    "max_retries: 0\n",
    "max_retries: 100\nretry_window: 30d\nbackoff: {jitter: none, strategy: linear, max_delay: 30d}\n",
    "retry_window: 10m\nbackoff: {initial_delay: 1s, jitter: equal}\n",
    "skip_errors: []\nerror_classes: [{name: sf_boom, patterns: [boom]}]\noverrides: {sf_boom: {max_retries: 1, retry_window: 1h}}\n",
    "enabled: false\n",
    "enabled: nope\n",
];

fn status() -> impl Strategy<Value = RunStatus> {
    prop_oneof![
        6 => Just(RunStatus::Error),
        2 => Just(RunStatus::Successful),
        1 => Just(RunStatus::InProgress),
        1 => Just(RunStatus::Canceled),
        1 => Just(RunStatus::CancelStarted),
        1 => prop::sample::select(vec!["", "Weird", "error"]).prop_map(|s| RunStatus::Other(s.to_owned())),
    ]
}

/// Minutes from the failed run's start: mostly before it, some after.
fn minutes() -> impl Strategy<Value = i64> {
    prop_oneof![9 => -900i64..=0, 1 => 0i64..60]
}

fn record(ids: Vec<&'static str>) -> impl Strategy<Value = RunRecord> {
    (
        prop::sample::select(ids),
        status(),
        prop::option::weighted(0.85, minutes()),
        prop::option::weighted(0.5, minutes()),
        prop::option::of(prop::sample::select(vec![
            "boom",
            "Read timed out",
            "401 Unauthorized",
            "",
        ])),
    )
        .prop_map(|(id, status, started, updated, message)| RunRecord {
            execution_id: id.to_owned(),
            status,
            started_at: at(started),
            last_updated_at: at(updated),
            message: message.map(str::to_owned),
        })
}

#[derive(Debug, Clone)]
struct DecideCase {
    policy: usize,
    event: FailureEvent,
    records: Vec<RunRecord>,
    now_minutes: i64,
}

fn decide_case() -> impl Strategy<Value = DecideCase> {
    (
        prop_oneof![6 => 0..5usize, 1 => 5..POLICIES.len()],
        prop::option::of(prop::sample::select(vec![
            "boom",
            "Read timed out",
            "401 Unauthorized",
            "   ",
        ])),
        prop::option::weighted(
            0.9,
            prop::sample::select(vec!["ONDEMAND", "ONDEMAND", "OnDemand", "SCHEDULED", ""]),
        ),
        prop::option::weighted(
            0.9,
            prop::sample::select(vec!["Execution Failed", "Execution Failed", "Execution Canceled"]),
        ),
        (prop::option::of(-900i64..60), prop::option::of(-900i64..60)),
        // The failed run's own record: usually there, usually an Error at 0.
        prop::option::weighted(0.85, record(vec![FAILED])),
        prop_oneof![3 => Just(Some(0i64)), 1 => prop::option::of(-5i64..5)],
        // Other runs; now and then another record of the failed run.
        vec(record(vec!["a", "b", "c", "d", "e", "", FAILED]), 0..20),
        -10i64..600,
    )
        .prop_map(
            |(policy, error, trigger, status, (start, time), own, own_at, mut records, now_minutes)| {
                let (start_time, time) = match (at(start), at(time)) {
                    (None, None) => (None, Some(t0())),
                    other => other,
                };
                if let Some(mut own) = own {
                    own.started_at = at(own_at);
                    records.insert(
                        own_at.map_or(0, |m| m.unsigned_abs() as usize) % (records.len() + 1),
                        own,
                    );
                }
                DecideCase {
                    policy,
                    event: FailureEvent {
                        flow_name: FLOW.into(),
                        execution_id: FAILED.into(),
                        trigger_type: trigger.map(str::to_owned),
                        status: status.map(str::to_owned),
                        error: error.map(str::to_owned),
                        start_time,
                        time,
                    },
                    records,
                    now_minutes,
                }
            },
        )
}

fn policy(i: usize) -> FlowPolicy {
    let text = format!("flow: {FLOW}\n{}", POLICIES[i]);
    FlowPolicy::from_texts(FLOW, None, Some(("/p/flows/x", &text)))
}

/// What one case decided, for the coverage counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Retry,
    GiveUp,
    Skip,
    NotFound,
    NotFinal,
}

fn check_decide(c: &DecideCase) -> Result<Outcome, TestCaseError> {
    let policy = policy(c.policy);
    let now = t0() + TimeDelta::minutes(c.now_minutes);
    let run = |records: &[RunRecord]| {
        decide(
            &c.event,
            records,
            &policy,
            now,
            &mut SplitMix64::for_execution(&c.event.execution_id),
        )
    };
    let started = Instant::now();
    let result = run(&c.records);
    prop_assert!(started.elapsed() < CASE_BOUND);

    let own: Vec<&RunRecord> = c.records.iter().filter(|r| r.execution_id == FAILED).collect();
    let first = own.first();
    let outcome = match &result {
        Ok(d) if d.action == Action::Retry => {
            let record = first.expect("a retry without the failed run's record");
            prop_assert_eq!(&record.status, &RunStatus::Error);
            prop_assert!(policy.usable().is_some_and(|p| p.policy.enabled));
            let attempt = d.attempt.expect("a retry counts its attempt");
            prop_assert!(
                attempt >= 1 && attempt <= d.max_retries,
                "attempt {} of {}",
                attempt,
                d.max_retries
            );
            let delay = d.delay_seconds.expect("a retry has a delay");
            prop_assert!(delay <= 30 * 86_400);
            prop_assert!(!c.event.is_cancelled() && c.event.is_on_demand());
            Outcome::Retry
        }
        Ok(d) => {
            prop_assert!(d.delay_seconds.is_none());
            if policy.usable().is_none() {
                prop_assert!(d.action == Action::Skip && d.notify);
            }
            if d.action == Action::GiveUp {
                Outcome::GiveUp
            } else {
                Outcome::Skip
            }
        }
        Err(Undecided::FailedRunNotFound { execution_id, records }) => {
            prop_assert!(first.is_none());
            prop_assert_eq!(execution_id.as_str(), FAILED);
            prop_assert_eq!(*records, c.records.len());
            Outcome::NotFound
        }
        Err(Undecided::FailedRunNotFinal { status, .. }) => {
            let record = first.expect("not final needs a record");
            prop_assert!(matches!(record.status, RunStatus::InProgress | RunStatus::Other(_)));
            prop_assert_eq!(status.as_str(), record.status.as_str());
            Outcome::NotFinal
        }
    };
    if first.is_none_or(|r| r.status != RunStatus::Error) {
        prop_assert!(outcome != Outcome::Retry, "{:?}", result);
    }

    // Same input, same decision; and, with one record of the failed run,
    // the same decision whatever the records' order.
    prop_assert_eq!(&run(&c.records), &result);
    if own.len() <= 1 {
        let mut reversed = c.records.clone();
        reversed.reverse();
        let other = run(&reversed);
        let key = |r: &Result<appflow_retry_policy::Decision, Undecided>| {
            r.as_ref()
                .map(|d| (d.action, d.attempt, d.delay_seconds, d.error_class.clone()))
                .map_err(Undecided::error_type)
        };
        prop_assert_eq!(key(&other), key(&result));
    }
    Ok(outcome)
}

#[test]
fn decide_never_retries_without_the_failed_runs_error_record() {
    let counts = std::cell::RefCell::new(std::collections::BTreeMap::<Outcome, usize>::new());
    let mut runner = proptest::test_runner::TestRunner::new(config(8_003));
    let result = runner.run(&decide_case(), |c| {
        let outcome = check_decide(&c)?;
        *counts.borrow_mut().entry(outcome).or_default() += 1;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generator reaches every outcome, so the property is tested on retries too.
    let counts = counts.into_inner();
    for outcome in [
        Outcome::Retry,
        Outcome::GiveUp,
        Outcome::Skip,
        Outcome::NotFound,
        Outcome::NotFinal,
    ] {
        assert!(
            counts.get(&outcome).copied().unwrap_or(0) >= 3,
            "{outcome:?}: {counts:?}"
        );
    }
}

/// A deactivation event around an arbitrary `detail` object (a reason of any
/// type under any of the accepted names, or none).
fn arbitrary_deactivation() -> impl Strategy<Value = Value> {
    (
        btree_map(
            prop_oneof![
                json_key(),
                prop::sample::select(appflow_retry_policy::appflow::REASON_FIELDS.to_vec()).prop_map(str::to_owned),
                Just("flow-name".to_owned()),
            ],
            json_value(),
            0..10,
        ),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
    )
        .prop_map(|(detail, time, id)| {
            let mut event = serde_json::json!({
                "source": "aws.appflow",
                "detail-type": "AppFlow Scheduled Flow Deactivated",
                "time": "2026-11-29T09:06:21Z",
                "id": "e-1",
                "detail": Value::Object(detail.into_iter().collect()),
            });
            if let Some(t) = time {
                event["time"] = t;
            }
            if let Some(i) = id {
                event["id"] = i;
            }
            event
        })
}

proptest! {
    #![proptest_config(config(8_002))]

    #[test]
    fn deactivation_events_are_parsed_or_name_their_field(v in prop_oneof![arbitrary_deactivation(), json_value()]) {
        let started = Instant::now();
        let parsed = appflow_retry_policy::DeactivationEvent::parse(&v);
        prop_assert!(started.elapsed() < CASE_BOUND, "parse took {:?}", started.elapsed());
        match parsed {
            Ok((e, _)) => {
                prop_assert!(!e.flow_name.is_empty() && e.flow_name.chars().count() <= MAX_NAME_CHARS);
                if let Some(reason) = &e.reason {
                    prop_assert!(reason.len() <= MAX_MESSAGE_BYTES && !reason.trim().is_empty());
                    prop_assert!(e.reason_field.is_some());
                }
                prop_assert!(e.time.is_some() || e.event_id.is_some());
                let id = e.deactivation_id();
                prop_assert!(id.len() <= 36 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{}", id);
            }
            Err(err) => {
                prop_assert!(
                    ["(event)", "source", "detail-type", "time", "detail", "detail.flow-name"].contains(&err.field.as_str()),
                    "error on {}", err.field
                );
            }
        }
    }
}
