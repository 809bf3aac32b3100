//! The `appflow-retry` binary on fixture files: valid sets, broken ones
//! (each problem asserted at its exact file:line:column), hostile input,
//! `explain`, `plan`, and the committed files it generates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_appflow-retry");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs the binary in `dir`. A hang guard, not a speed test: hostile input
/// must not make validation run away; the limit is far above any real run.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        assert!(
            Instant::now() < deadline,
            "appflow-retry {args:?} still running after 30s (pid {pid})"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    waiter.join().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A policy set in a temporary directory: `default.yaml` and `flows/<name>`.
struct Set {
    dir: tempfile::TempDir,
}

impl Set {
    fn new(default: Option<&str>, flows: &[(&str, &str)]) -> Set {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("flows")).unwrap();
        if let Some(text) = default {
            fs::write(dir.path().join("default.yaml"), text).unwrap();
        }
        for (name, text) in flows {
            fs::write(dir.path().join("flows").join(name), text).unwrap();
        }
        Set { dir }
    }

    /// `appflow-retry validate .` in the set's directory.
    fn validate(&self) -> Output {
        run_in(self.dir.path(), &["validate", "."])
    }
}

/// Asserts that validation fails and prints exactly these problem lines.
fn assert_problems(set: &Set, expected: &[&str]) {
    let out = set.validate();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("./")).collect();
    assert_eq!(lines, expected, "full stderr:\n{err}");
}

#[test]
fn the_repos_policies_are_valid() {
    let out = run_in(&repo(), &["validate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ok: "), "{}", stdout(&out));
}

#[test]
fn committed_schema_is_fresh() {
    let out = run_in(&repo(), &["schema"]);
    let committed = fs::read_to_string(repo().join("policies/schema.json")).unwrap();
    assert!(
        stdout(&out) == committed,
        "policies/schema.json is stale: run `appflow-retry schema > policies/schema.json`"
    );
}

#[test]
fn a_stale_schema_beside_the_policies_is_reported() {
    let set = Set::new(Some("max_retries: 2\n"), &[]);
    fs::write(set.dir.path().join("schema.json"), "{}\n").unwrap();
    assert_problems(
        &set,
        &["./schema.json:1:1: stale: regenerate it with `appflow-retry schema > policies/schema.json`"],
    );
}

#[test]
fn readme_shows_the_built_in_class_table() {
    let out = run_in(&repo(), &["classes"]);
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(&stdout(&out)),
        "README.md must contain the output of `appflow-retry classes`:\n{}",
        stdout(&out)
    );
}

#[test]
fn every_policy_file_names_its_schema() {
    for entry in fs::read_dir(repo().join("policies/flows")).unwrap() {
        let text = fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(text.starts_with("# yaml-language-server: $schema=../schema.json\n"));
    }
    let text = fs::read_to_string(repo().join("policies/default.yaml")).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=./schema.json\n"));
}

#[test]
fn bad_yaml() {
    let set = Set::new(
        None,
        &[("a.yaml", "flow: a-flow\nbackoff: {initial_delay: 1m\nmax_retries: 2\n")],
    );
    let out = set.validate();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.starts_with("./flows/a.yaml:3:12: invalid YAML: "), "{err}");
}

#[test]
fn wrong_types() {
    let set = Set::new(
        None,
        &[(
            "a.yaml",
            "flow: a-flow\nmax_retries: three\nenabled: maybe\nbackoff:\n  initial_delay: 120\n",
        )],
    );
    assert_problems(
        &set,
        &[
            "./flows/a.yaml:2:14: max_retries: \"three\" is not of type \"integer\"",
            "./flows/a.yaml:3:10: enabled: \"maybe\" is not of type \"boolean\"",
            "./flows/a.yaml:5:18: backoff.initial_delay: \"120\" has no unit: write \"120s\" for seconds (units: d, h, m, s)",
        ],
    );
}

#[test]
fn unknown_fields_anywhere() {
    let set = Set::new(
        Some("max_retry: 3\nbackoff:\n  max_dealy: 1h\n"),
        &[("a.yaml", "flow: a-flow\noverrides:\n  throttling: {max_retrys: 1}\n")],
    );
    assert_problems(
        &set,
        &[
            "./default.yaml:1:1: unknown field `max_retry`; did you mean `max_retries`?",
            "./default.yaml:3:3: unknown field `max_dealy` in backoff; did you mean `max_delay`?",
            "./flows/a.yaml:3:16: unknown field `max_retrys` in overrides.throttling; did you mean `max_retries`?",
        ],
    );
}

#[test]
fn unknown_classes_in_skip_errors_and_overrides() {
    let set = Set::new(
        Some("skip_errors: [auth]\n"),
        &[(
            "a.yaml",
            "flow: a-flow\nskip_errors: [auth, throtling]\noverrides:\n  sf_limit:\n    max_retries: 1\n",
        )],
    );
    assert_problems(
        &set,
        &[
            "./flows/a.yaml:2:21: unknown error class \"throtling\"; did you mean \"throttling\"?",
            "./flows/a.yaml:4:3: unknown error class \"sf_limit\"",
        ],
    );
}

#[test]
fn classes_defined_in_the_default_are_known_to_flows_until_a_flow_replaces_the_list() {
    let default = "error_classes: [{name: sf_limit, patterns: [LIMIT]}]\noverrides: {sf_limit: {max_retries: 1}}\n";
    let ok = Set::new(Some(default), &[("a.yaml", "flow: a-flow\nskip_errors: [sf_limit]\n")]);
    assert!(ok.validate().status.success(), "{}", stderr(&ok.validate()));
    // Lists replace: this flow's error_classes drop sf_limit, which the default's override names.
    let broken = Set::new(
        Some(default),
        &[(
            "a.yaml",
            "flow: a-flow\nerror_classes: [{name: other, patterns: [x]}]\n",
        )],
    );
    assert_problems(&broken, &["./flows/a.yaml:2:1: unknown error class \"sf_limit\""]);
}

#[test]
fn bad_regex() {
    let set = Set::new(
        None,
        &[(
            "a.yaml",
            "flow: a-flow\nerror_classes:\n  - name: broken\n    patterns: [ok, \"(unclosed\"]\n",
        )],
    );
    assert_problems(&set, &["./flows/a.yaml:4:20: invalid regex: error: unclosed group"]);
}

#[test]
fn duplicate_flow() {
    let set = Set::new(
        None,
        &[
            ("a.yaml", "flow: same-flow\n"),
            ("b.yaml", "max_retries: 1\nflow: same-flow\n"),
        ],
    );
    assert_problems(
        &set,
        &["./flows/b.yaml:2:7: flow \"same-flow\" is already claimed by ./flows/a.yaml"],
    );
}

#[test]
fn missing_flow_and_flow_in_default() {
    let set = Set::new(Some("flow: oops\n"), &[("a.yaml", "max_retries: 1\n")]);
    assert_problems(
        &set,
        &[
            "./default.yaml:1:7: the default policy applies to every flow: remove `flow`",
            "./flows/a.yaml:1:1: missing `flow`: name the AppFlow flow this file governs",
        ],
    );
}

#[test]
fn max_delay_below_initial_delay() {
    // In the flow's own backoff, and through the merge: the default's cap under the flow's initial_delay.
    let set = Set::new(
        Some("backoff: {max_delay: 10m}\n"),
        &[
            (
                "a.yaml",
                "flow: a-flow\nbackoff:\n  initial_delay: 2h\n  max_delay: 1h\n",
            ),
            ("b.yaml", "flow: b-flow\nbackoff:\n  initial_delay: 20m\n"),
            (
                "c.yaml",
                "flow: c-flow\noverrides:\n  transient:\n    backoff: {initial_delay: 1h}\n",
            ),
        ],
    );
    assert_problems(
        &set,
        &[
            "./flows/a.yaml:4:14: max_delay (1h) is less than initial_delay (2h)",
            "./flows/b.yaml:3:18: max_delay (10m) is less than initial_delay (20m)",
            "./flows/c.yaml:4:30: max_delay (10m) is less than initial_delay (1h)",
        ],
    );
}

#[test]
fn bounds_and_the_30_day_limit() {
    let set = Set::new(
        None,
        &[(
            "a.yaml",
            "flow: a-flow\nmax_retries: 101\nretry_window: 366d\nbackoff: {initial_delay: 0s, multiplier: 0.5}\n",
        )],
    );
    let out = set.validate();
    let err = stderr(&out);
    for want in [
        "./flows/a.yaml:2:14: max_retries: 101 is greater than the maximum of 100",
        "./flows/a.yaml:4:42: backoff.multiplier: 0.5 is less than the minimum of 1.0",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
    // Past the schema, the rules the schema cannot express.
    let set = Set::new(
        None,
        &[(
            "a.yaml",
            "flow: a-flow\nretry_window: 31d\nbackoff: {initial_delay: 0s, max_delay: 1h}\nreactivate: {backoff: {max_delay: 45d}}\n",
        )],
    );
    assert_problems(
        &set,
        &[
            "./flows/a.yaml:2:15: retry_window is 31d; at most 30d: Step Functions may keep a closed execution only 30 days, and its name is what stops a failure from being decided twice",
            "./flows/a.yaml:3:26: initial_delay must be at least 1s",
            "./flows/a.yaml:4:35: max_delay is 45d; at most 30d: Step Functions may keep a closed execution only 30 days, and its name is what stops a failure from being decided twice",
        ],
    );
}

#[test]
fn every_problem_in_every_file_is_reported() {
    let set = Set::new(
        Some("max_retries: 1000\n"),
        &[
            ("a.yaml", "flow: a-flow\nmax_retry: 1\n"),
            ("b.yaml", "flow: b-flow\nskip_errors: [nope]\n"),
            ("c.yaml", ": :\n"),
        ],
    );
    let out = set.validate();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err.lines().filter(|l| l.starts_with("./")).count(), 4, "{err}");
    assert!(err.ends_with("4 problems in 4 policy files\n"), "{err}");
}

#[test]
fn a_yaml_alias_bomb_is_rejected_quickly() {
    let mut text = String::from(
        "flow: bomb\nx0: &x0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!("x{i}: &x{i} [{}]\n", vec![format!("*x{p}"); 10].join(",")));
    }
    let set = Set::new(None, &[("bomb.yaml", &text)]);
    let out = set.validate();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("./flows/bomb.yaml:2:9: YAML anchors (`&name`) are not allowed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn deep_nesting_and_huge_files_are_rejected() {
    let deep = format!("flow: deep\nx: {}{}\n", "[".repeat(3_000), "]".repeat(3_000));
    let huge = format!("flow: huge\n# {}\n", "x".repeat(2 << 20));
    let set = Set::new(None, &[("deep.yaml", &deep), ("huge.yaml", &huge)]);
    let out = set.validate();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // Flow-style nesting stops yaml-rust2's scanner at 255 levels, before any
    // event: reported as too deep, where the scanner gave up.
    assert!(
        err.contains("./flows/deep.yaml:2:259: nested deeper than 16 levels"),
        "{err}"
    );
    assert!(err.contains("./flows/huge.yaml:1:1: file is 1048577 bytes"), "{err}");
    let block: String = (0..40).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
    let set = Set::new(None, &[("deep.yaml", &format!("flow: deep\n{block}"))]);
    let err = stderr(&set.validate());
    assert!(
        err.contains("./flows/deep.yaml:18:36: nested deeper than 16 levels"),
        "{err}"
    );
}

#[test]
fn a_file_over_the_ssm_limit_is_reported() {
    let text = format!("flow: big\n# {}\n", "x".repeat(9000));
    let set = Set::new(None, &[("big.yaml", &text)]);
    assert_problems(
        &set,
        &["./flows/big.yaml:1:1: file is 9013 bytes; an SSM parameter holds at most 8192 (Advanced tier)"],
    );
}

#[test]
fn a_single_flow_file_is_checked_over_its_sets_default() {
    let set = Set::new(
        Some("backoff: {max_delay: 10m}\n"),
        &[("a.yaml", "flow: a-flow\nbackoff: {initial_delay: 20m}\n")],
    );
    let out = run_in(set.dir.path(), &["validate", "flows/a.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("flows/a.yaml:2:26: max_delay (10m) is less than initial_delay (20m)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_path_is_a_usage_error() {
    let out = run_in(&repo(), &["validate", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/dir: no such file or directory"));
}

fn explain(args: &[&str]) -> Output {
    let fx = fixtures();
    let event = fx.join("end-flow-run-report.failed.json");
    let history = fx.join("describe-flow-execution-records.json");
    let mut all = vec![
        "explain",
        "--event",
        event.to_str().unwrap(),
        "--history",
        history.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run_in(&repo(), &all)
}

#[test]
fn explain_prints_the_decision_with_exactly_the_contract_keys() {
    let out = explain(&["--now", "2026-11-29T09:10:00Z"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "flow": "salesforce-accounts",
            "execution_id": "9aa00099-9943-449a-9c7a-488dbc801242",
            "failed_run_started_at": "2026-11-29T09:02:47.643Z",
            "policy": "policies/flows/salesforce-accounts.yaml",
            "error_class": "sf_api_limit",
            "attempt": 1,
            "max_retries": 2,
            "action": "retry",
            "delay_seconds": 3600,
            "reason": "restart 1 of 2 for class sf_api_limit after 1h (fixed backoff, jitter none)",
            "notify_on": ["give_up", "skip"],
            "notify": false
        })
    );
}

#[test]
fn explain_gives_up_once_the_window_has_passed() {
    let out = explain(&["--now", "2026-11-29T21:02:47.643Z"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["action"], "give_up");
    assert_eq!(v["notify"], true);
    assert!(v.get("delay_seconds").is_none());
}

#[test]
fn explain_jitter_is_stable_and_seedable() {
    // The default policy's throttling override has equal jitter: 10m/2 + up to 5m.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("flows")).unwrap();
    fs::copy(repo().join("policies/default.yaml"), dir.path().join("default.yaml")).unwrap();
    let policies = dir.path().to_str().unwrap();
    let delay = |extra: &[&str]| {
        let mut args = vec!["--now", "2026-11-29T09:10:00Z", "--policies", policies];
        args.extend_from_slice(extra);
        let out = explain(&args);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (v["error_class"].as_str(), v["policy"].as_str()),
            (Some("throttling"), Some("default"))
        );
        v["delay_seconds"].as_u64().unwrap()
    };
    let first = delay(&[]);
    assert!((300..=600).contains(&first), "{first}");
    assert_eq!(delay(&[]), first);
    // Pinned forever: FNV-1a and SplitMix64 are fixed algorithms.
    assert_eq!(first, 575);
    let seeded: Vec<u64> = ["1", "2", "3"].iter().map(|s| delay(&["--seed", s])).collect();
    assert_eq!(
        seeded,
        [
            delay(&["--seed", "1"]),
            delay(&["--seed", "2"]),
            delay(&["--seed", "3"])
        ]
    );
    assert!(seeded.iter().any(|d| *d != first));
}

#[test]
fn explain_names_the_event_field_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let mut event: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fixtures().join("end-flow-run-report.failed.json")).unwrap()).unwrap();
    event["detail"].as_object_mut().unwrap().remove("execution-id");
    let path = dir.path().join("e.json");
    fs::write(&path, event.to_string()).unwrap();
    let history = fixtures().join("describe-flow-execution-records.json");
    let out = run_in(
        &repo(),
        &[
            "explain",
            "--event",
            path.to_str().unwrap(),
            "--history",
            history.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("event field `detail.execution-id`: missing"),
        "{}",
        stderr(&out)
    );

    let ok = fixtures().join("end-flow-run-report.succeeded.json");
    let out = run_in(
        &repo(),
        &[
            "explain",
            "--event",
            ok.to_str().unwrap(),
            "--history",
            history.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("event field `detail.status`"), "{}", stderr(&out));
}

#[test]
fn explain_fails_closed_on_a_broken_flow_file_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("flows")).unwrap();
    fs::write(dir.path().join("default.yaml"), "backoff: {jitter: none}\n").unwrap();
    // `enabled: no` is YAML 1.1 for false, a string to serde: the owner meant
    // "never restart", and the first version restarted on the default policy.
    for text in [
        "flow: salesforce-accounts\nmax_retry: 9\n",
        "flow: salesforce-accounts\nenabled: no\n",
    ] {
        fs::write(dir.path().join("flows/sf.yaml"), text).unwrap();
        let out = explain(&[
            "--now",
            "2026-11-29T09:10:00Z",
            "--policies",
            dir.path().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (v["action"].as_str(), v["notify"].as_bool()),
            (Some("skip"), Some(true)),
            "{text}"
        );
        assert!(v["policy"].as_str().unwrap().ends_with("flows/sf.yaml"), "{v}");
        assert!(v["reason"].as_str().unwrap().contains("flows/sf.yaml:2:"), "{v}");
        assert!(stderr(&out).contains("warning: "), "{}", stderr(&out));
    }
    let out = run_in(dir.path(), &["plan", "salesforce-accounts", "--policies", "."]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("its failures are skipped"), "{}", stderr(&out));
}

#[test]
fn plan_table_and_json() {
    let out = run_in(&repo(), &["plan", "salesforce-accounts", "--class", "sf_api_limit"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("max_retries 2 within retry_window 12h"), "{text}");
    assert!(text.contains("failure 3: give up (max_retries 2 is used up)"), "{text}");

    let out = run_in(
        &repo(),
        &["plan", "salesforce-accounts", "--class", "sf_api_limit", "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let offsets: Vec<u64> = v["restarts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["earliest_offset_seconds"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [3600, 7200]);
    assert_eq!(v["end"]["failure"], 3);
    assert_eq!(v["policy"], "policies/flows/salesforce-accounts.yaml");

    let out = run_in(&repo(), &["plan", "zendesk-tickets-backfill", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["end"]["outcome"], "skip");

    let out = run_in(&repo(), &["plan", "salesforce-accounts", "--class", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown error class \"nope\""));
}

/// `plan` draws every class on one time axis, as wide as `COLUMNS`; the
/// JSON is unchanged.
#[test]
fn plan_draws_every_class_on_a_time_axis() {
    for width in [80usize, 140] {
        let out = Command::new(BIN)
            .args(["plan", "salesforce-accounts"])
            .current_dir(repo())
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        let text = stdout(&out);
        let at = text.find("Every class (").unwrap_or_else(|| panic!("{text}"));
        let axis = &text[at..];
        let rows: Vec<&str> = axis.lines().skip(2).collect();
        // The file skips auth, permission, config (built-in) and sets sf_api_limit's own window (12h).
        assert!(
            rows.contains(&"auth, permission, config  never restarted (skip)"),
            "{text}"
        );
        let api = rows
            .iter()
            .find(|r| r.starts_with("sf_api_limit"))
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(api.matches('*').count(), 2, "two restarts: {text}");
        assert!(
            api.ends_with("| failure 3: give up"),
            "the longest window ends the axis: {text}"
        );
        for line in axis.lines() {
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
    }
    let out = run_in(&repo(), &["plan", "salesforce-accounts", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("timeline").is_none(), "{v}");
}

fn explain_deactivation(args: &[&str]) -> Output {
    let fx = fixtures();
    let event = fx.join("scheduled-flow-deactivated.json");
    let history = fx.join("describe-flow-execution-records.scheduled.json");
    let mut all = vec![
        "explain",
        "--event",
        event.to_str().unwrap(),
        "--history",
        history.to_str().unwrap(),
        "--now",
        "2026-11-29T09:07:00Z",
    ];
    all.extend_from_slice(args);
    run_in(&repo(), &all)
}

#[test]
fn explain_decides_a_deactivation_with_the_threshold() {
    // Three failures in a row at threshold 3: the first deactivation, re-activated after 5m.
    let describe = fixtures().join("describe-flow.scheduled.json");
    let out = explain_deactivation(&["--describe-flow", describe.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["action"], "reactivate", "{v}");
    assert_eq!(v["execution_id"], "deactivated-20261129T090621Z");
    assert_eq!(v["attempt"], 1);
    assert_eq!(v["max_retries"], 2, "max_reactivations");
    assert_eq!(v["delay_seconds"], 300);
    assert_eq!(v["notify"], true, "notify has reactivate");
    assert_eq!(v["policy"], "policies/flows/nightly-orders-sync.yaml");
    // At threshold 1 the same history is deactivation 3: past max_reactivations 2.
    let out = explain_deactivation(&["--threshold", "1"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["action"].as_str(), v["attempt"].as_u64()),
        (Some("give_up"), Some(3)),
        "{v}"
    );
    assert_eq!(v["notify"], true);
    // Without a threshold: 1, as the Lambda does when DescribeFlow says none.
    let out = explain_deactivation(&[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["action"], "give_up", "{v}");
}

#[test]
fn plan_shows_the_reactivation_schedule_when_enabled() {
    let out = run_in(&repo(), &["plan", "nightly-orders-sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("When AppFlow deactivates this flow"), "{text}");
    assert!(text.contains("max_reactivations 2 within retry_window 1d"), "{text}");
    assert!(text.contains("deactivation 3: give up"), "{text}");
    let out = run_in(&repo(), &["plan", "nightly-orders-sync", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let delays: Vec<u64> = v["reactivation"]["reactivations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["base_delay_seconds"].as_u64().unwrap())
        .collect();
    assert_eq!(delays, [300, 600]);
    // Not enabled: no reactivation section.
    let out = run_in(&repo(), &["plan", "salesforce-accounts", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("reactivation").is_none(), "{v}");
}

/// `status --now` is for tests and reproducible reports: accepted, not offered.
#[test]
fn status_now_is_hidden_from_help() {
    let out = run_in(&repo(), &["status", "--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--since"), "{help}");
    assert!(!help.contains("--now"), "{help}");
    // Accepted: a bad value is refused by its parser, not as an unknown flag.
    let out = run_in(&repo(), &["status", "--now", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not an RFC 3339 time"), "{}", stderr(&out));
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // `appflow-retry plan F --json | head -0`: the reader is gone before the
    // first write. Every command that prints: no panic, no message, exit 0.
    for args in [
        &["plan", "salesforce-accounts", "--json"][..],
        &["plan", "salesforce-accounts"][..],
        &["schema"][..],
        &["validate"][..],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(BIN)
            .args(args)
            .current_dir(repo())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn files_and_folders_that_are_not_read_are_named() {
    // Terraform reads default.y(a)ml and flows/*.y(a)ml, case-sensitive: a
    // policy anywhere else is never deployed, so it is never silent.
    let set = Set::new(Some("max_retries: 2\n"), &[("a.yaml", "flow: orders-a\n")]);
    let dir = set.dir.path();
    fs::create_dir(dir.join("flow")).unwrap();
    fs::write(dir.join("flow/c.yaml"), "flow: c\n").unwrap();
    fs::write(dir.join("flows/b.YAML"), "flow: b\n").unwrap();
    fs::write(dir.join("flows/notes.txt"), "x").unwrap();
    fs::create_dir(dir.join("flows/old")).unwrap();
    fs::write(dir.join("d.yaml"), "flow: d\n").unwrap();
    fs::write(dir.join(".gitkeep"), "").unwrap();
    let out = set.validate();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for line in [
        "warning: ./d.yaml: not read: flow files are read from flows/ only (move it there)",
        "warning: ./flow: not read: a folder: flow files are read from flows/ only (rename flow/ to flows/)",
        "warning: ./flows/b.YAML: not read: only .yaml and .yml are read, in lower case (rename it)",
        "warning: ./flows/notes.txt: not read: only .yaml and .yml files are read",
        "warning: ./flows/old: not read: a folder inside flows/: only the files directly in flows/ are read",
    ] {
        assert!(err.lines().any(|l| l == line), "missing {line:?} in:\n{err}");
    }
    assert!(!err.contains(".gitkeep"), "{err}");
    assert_eq!(
        stdout(&out),
        "ok: 2 policy files valid (5 files or folders not read: see the warnings)\n"
    );

    // Nothing readable at all: the error names what is there instead.
    let empty = tempfile::tempdir().unwrap();
    fs::create_dir(empty.path().join("Flows")).unwrap();
    fs::write(empty.path().join("Flows/a.yaml"), "flow: a\n").unwrap();
    let out = run_in(empty.path(), &["validate", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("rename Flows/ to flows/"), "{}", stderr(&out));
}

#[test]
fn a_flow_no_file_governs_and_a_misspelt_class_are_named_with_the_nearest() {
    let out = run_in(&repo(), &["plan", "salesforce-acounts"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the default does apply to a flow without a file"
    );
    assert!(
        stderr(&out).contains(
            "note: no file in policies/flows governs flow salesforce-acounts: the default applies; did you mean salesforce-accounts?"
        ),
        "{}",
        stderr(&out)
    );
    // A flow with its own file: no note.
    let out = run_in(&repo(), &["plan", "salesforce-accounts"]);
    assert!(!stderr(&out).contains("note:"), "{}", stderr(&out));
    // Far from every name: the note without a guess.
    let out = run_in(&repo(), &["plan", "hubspot-contacts-hourly"]);
    let err = stderr(&out);
    assert!(
        err.contains("governs flow hubspot-contacts-hourly: the default applies\n"),
        "{err}"
    );

    let out = run_in(&repo(), &["plan", "salesforce-accounts", "--class", "sf_api_limt"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("did you mean \"sf_api_limit\"?"), "{err}");
    assert!(
        err.contains("throttling, auth, permission, config, transient, unknown, sf_api_limit, sf_row_lock"),
        "{err}"
    );
}

#[test]
fn explain_notes_a_flow_no_file_governs() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("flows")).unwrap();
    fs::copy(repo().join("policies/default.yaml"), dir.path().join("default.yaml")).unwrap();
    fs::copy(
        repo().join("policies/flows/marketo-leads.yaml"),
        dir.path().join("flows/marketo-leads.yaml"),
    )
    .unwrap();
    let out = explain(&[
        "--now",
        "2026-11-29T09:10:00Z",
        "--policies",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("governs flow salesforce-accounts: the default applies\n"),
        "{err}"
    );
    assert!(!err.contains("did you mean"), "marketo-leads is not near: {err}");
}

#[test]
fn the_readme_shows_what_validate_prints() {
    // README's example, run: tests/fixtures/bad.yaml as policies/flows/bad.yaml.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("policies/flows")).unwrap();
    fs::copy(fixtures().join("bad.yaml"), dir.path().join("policies/flows/bad.yaml")).unwrap();
    let out = run_in(dir.path(), &["validate", "policies/flows/bad.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let command = "$ appflow-retry validate policies/flows/bad.yaml\n";
    let start = readme.find(command).expect("README shows validate on bad.yaml") + command.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    assert_eq!(stderr(&out), shown, "README's validate example is stale");
    // Every allowed value, and the name rule in words.
    assert!(shown.contains(r#""never" is not one of "retry", "give_up", "skip", "recovered" or "reactivate""#));
    assert!(shown.contains("is not an AppFlow flow name: 2 or more of letters, digits"));
}

#[test]
fn a_file_that_is_not_utf8_is_that_files_problem_and_the_others_are_checked() {
    let set = Set::new(
        Some("max_retries: 2\n"),
        &[
            ("ok.yaml", "flow: orders-ok\nmax_retries: 1\n"),
            ("bad.yaml", "flow: orders-bad\nmax_retry: 1\n"),
        ],
    );
    let dir = set.dir.path();
    // Latin-1 "café" in a comment on line 2, and a UTF-16 file with its BOM.
    fs::write(dir.join("flows/latin1.yaml"), b"flow: orders-l\n# caf\xe9\n").unwrap();
    fs::write(dir.join("flows/utf16.yaml"), b"\xff\xfef\x00l\x00o\x00w\x00:\x00").unwrap();
    let out = set.validate();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for line in [
        "./flows/bad.yaml:2:1: unknown field `max_retry`; did you mean `max_retries`?",
        "./flows/latin1.yaml:2:6: byte 0xE9 is not UTF-8 (a Latin-1 or Windows-1252 file?): save the file as UTF-8",
        "./flows/utf16.yaml:1:1: the file is UTF-16, not UTF-8: save it as UTF-8 (some Windows editors and PowerShell's `>` write UTF-16)",
        "3 problems in 5 policy files",
    ] {
        assert!(err.lines().any(|l| l == line), "missing {line:?} in:\n{err}");
    }
    // Fail closed as the Lambda would: the file might be any flow's.
    let out = run_in(dir, &["plan", "orders-ok", "--policies", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be read far enough to know which flow it governs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn aws_errors_read_as_one_line_with_the_fix() {
    // No credentials anywhere: one line that says what to set, not the
    // SDK's chain of providers; the region comes from the ARN.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "status",
            "--state-machine-arn",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:r",
        ])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("appflow-retry: Step Functions: no AWS credentials found: set AWS_PROFILE"),
        "{err}"
    );

    // An endpoint that refuses: one line; --verbose adds the SDK's text.
    for (verbose, lines) in [(false, 1), (true, 2)] {
        let mut args = vec![
            "status",
            "--state-machine-arn",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:r",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ];
        if verbose {
            args.push("--verbose");
        }
        let out = Command::new(BIN)
            .args(&args)
            .env_clear()
            .env("HOME", home.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_MAX_ATTEMPTS", "1")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(err.lines().count(), lines, "{err}");
        assert!(
            err.starts_with("appflow-retry: Step Functions: cannot reach the AWS endpoint"),
            "{err}"
        );
    }
}

#[test]
fn validate_prints_json_and_github_annotations_for_tools() {
    let out = run_in(&repo(), &["validate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["ok"].as_bool(), v["files_checked"].as_u64()), (Some(true), Some(6)));

    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("policies/flows")).unwrap();
    fs::copy(fixtures().join("bad.yaml"), dir.path().join("policies/flows/bad.yaml")).unwrap();
    let out = run_in(dir.path(), &["validate", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let annotations = stdout(&out);
    assert!(
        annotations.contains(
            "::error file=policies/flows/bad.yaml,line=2,col=1,title=appflow-retry validate::unknown field `max_retry`; did you mean `max_retries`?\n"
        ),
        "{annotations}"
    );
    assert_eq!(stderr(&out), "", "annotations only");
}

#[test]
fn completions_and_the_manual_page_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run_in(&repo(), &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for sub in [
            "validate",
            "plan",
            "explain",
            "status",
            "cancel",
            "redrive",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
    }
    // The bash script parses.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appflow-retry.bash");
    fs::write(&path, stdout(&run_in(&repo(), &["completions", "bash"]))).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(check.status.success(), "{}", stderr(&check));

    let out = run_in(&repo(), &["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie") && page.contains(".TH appflow-retry 1"),
        "{page:.200}"
    );
    assert!(
        page.contains("appflow\\-retry\\-validate(1)") || page.contains("validate"),
        "{page:.400}"
    );
}

#[test]
fn plan_of_a_scheduled_flow_shows_no_restarts() {
    let out = run_in(&repo(), &["plan", "nightly-orders-sync", "--trigger", "scheduled"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("a scheduled flow: AppFlow cannot re-run it on demand"),
        "{text}"
    );
    assert!(!text.contains("restart  base delay"), "no restart rows: {text}");
    assert!(
        text.contains("deactivation  base delay"),
        "the re-activation schedule: {text}"
    );
    assert!(!stderr(&out).contains("note:"), "{}", stderr(&out));

    let out = run_in(
        &repo(),
        &["plan", "nightly-orders-sync", "--trigger", "event", "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trigger"], "event");
    assert_eq!(v["restarts"].as_array().map(Vec::len), Some(0), "{v}");

    // Without --trigger, reactivate.enabled earns a note pointing at it.
    let out = run_in(&repo(), &["plan", "nightly-orders-sync"]);
    assert!(stderr(&out).contains("give --trigger scheduled"), "{}", stderr(&out));
    let out = run_in(&repo(), &["plan", "marketo-leads", "--trigger", "event"]);
    assert!(
        stdout(&out).contains("a person is told and it stays off"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_window_the_sweep_may_never_look_inside_is_a_warning() {
    // The default's 20m window is inherited by b; a's own 1h is long enough.
    let set = Set::new(
        Some("retry_window: 20m\n"),
        &[
            ("a.yaml", "flow: orders-a\nretry_window: 1h\n"),
            ("b.yaml", "flow: orders-b\n"),
        ],
    );
    let out = set.validate();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "a warning, not a problem: {err}");
    assert!(
        err.contains("warning: ./default.yaml: retry_window 20m is shorter than 25m"),
        "{err}"
    );
    assert!(
        err.contains("warning: ./flows/b.yaml: retry_window 20m is shorter than 25m"),
        "{err}"
    );
    assert!(!err.contains("a.yaml"), "{err}");
    // This repository's policies: none.
    assert!(!stderr(&run_in(&repo(), &["validate"])).contains("warning"));
}

/// `status` with the state machine's variable set: an explicit
/// `--terraform-dir` wins over it, the flag and `--terraform-dir` together
/// are refused, and the variable alone is used (the call then fails on a
/// closed port, as one line).
#[test]
fn the_state_machine_variable_yields_to_an_explicit_terraform_dir() {
    let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry";
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("APPFLOW_RETRY_STATE_MACHINE_ARN", arn)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };
    let out = run(&["status", "--terraform-dir", "no-such-root"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "appflow-retry: --terraform-dir no-such-root: not a directory (give the Terraform root module you applied, e.g. terraform)"
    );

    let out = run(&[
        "cancel",
        "--flow",
        "f",
        "--state-machine-arn",
        arn,
        "--terraform-dir",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("both name the state machine: give one"),
        "{}",
        stderr(&out)
    );

    let out = run(&["status", "--endpoint-url", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "appflow-retry: Step Functions: cannot reach the AWS endpoint: check the network, --region and --endpoint-url"
    );
}
