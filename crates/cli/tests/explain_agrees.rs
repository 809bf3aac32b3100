//! `explain` answers as the Lambda does (issue 16, item 3): every hostile
//! policy text of the test corpus (`crates/policy/tests/corpus`) goes
//! through both paths, and both decide the same action for the same failed
//! run. The CLI's path: the text as a file in a policy directory, through
//! `explain` (the library call the binary makes). The Lambda's path: the
//! text as the flow's SSM parameter, through the runtime's `PolicyCache`
//! and the on-failure handler's two decision phases (`precheck`, then the
//! decision with the history). A file whose flow cannot be read (an alias
//! bomb, deep nesting, a duplicate key, no `flow`) may be any flow's: the
//! CLI fails closed as the Lambda does, never falling back to the default.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failure report

#[path = "../../policy/tests/corpus/mod.rs"]
mod corpus;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use appflow_retry_cli::explain::{ExplainOptions, explain};
use appflow_retry_policy::appflow::parse_time;
use appflow_retry_policy::naming::{default_parameter, flow_parameter};
use appflow_retry_policy::{Action, FailureEvent, Precheck, SplitMix64, parse_history, precheck};
use appflow_retry_runtime::PolicyCache;
use appflow_retry_runtime::ports::{ParameterStore, PortError};
use chrono::{DateTime, Utc};
use corpus::{DEFAULT_TEXT, FLOW};
use serde_json::Value;

const PREFIX: &str = "/appflow-retry";
const BIN: &str = env!("CARGO_BIN_EXE_appflow-retry");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn now() -> DateTime<Utc> {
    parse_time("2026-11-29T09:10:00Z").unwrap()
}

/// SSM as the Lambda reads it: parameter name → text.
struct Store(HashMap<String, String>);

impl ParameterStore for Store {
    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<String>>, PortError> {
        Ok(names.iter().map(|n| self.0.get(n).cloned()).collect())
    }
}

/// The failed run (the fixture's, renamed to [`FLOW`]) and its history, on disk.
struct Failure {
    dir: tempfile::TempDir,
    event: Value,
    history: Value,
}

impl Failure {
    fn new() -> Failure {
        let dir = tempfile::tempdir().unwrap();
        let read = |name: &str| -> Value {
            serde_json::from_str(&fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
        };
        let mut event = read("end-flow-run-report.failed.json");
        event["detail"]["flow-name"] = FLOW.into();
        let history = read("describe-flow-execution-records.json");
        fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
        fs::write(dir.path().join("history.json"), history.to_string()).unwrap();
        Failure { dir, event, history }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `explain` over a policy directory: the default and `files` (name under `flows/`, text).
    fn cli(&self, files: &[(&str, &str)]) -> (Action, String) {
        let policies = tempfile::tempdir().unwrap();
        fs::write(policies.path().join("default.yaml"), DEFAULT_TEXT).unwrap();
        fs::create_dir(policies.path().join("flows")).unwrap();
        for (name, text) in files {
            fs::write(policies.path().join("flows").join(name), text).unwrap();
        }
        let opts = ExplainOptions {
            now: now(),
            seed: None,
            threshold: None,
        };
        let (d, _) = explain(
            &self.path("event.json"),
            &self.path("history.json"),
            policies.path(),
            opts,
        )
        .unwrap_or_else(|e| panic!("explain: {e}"));
        (d.action, d.reason)
    }

    /// The on-failure Lambda's decision with `text` as the flow's parameter.
    async fn lambda(&self, text: Option<&str>) -> (Action, String) {
        let mut params = HashMap::from([(default_parameter(PREFIX), DEFAULT_TEXT.to_owned())]);
        if let Some(text) = text {
            params.insert(flow_parameter(PREFIX, FLOW), text.to_owned());
        }
        let cache = PolicyCache::new(Store(params), PREFIX, 60);
        let loaded = cache.load(FLOW, now()).await.unwrap();
        let event = FailureEvent::from_json(&self.event).unwrap();
        let records = parse_history(&self.history).unwrap();
        let d = match precheck(&event, &loaded.policy) {
            Precheck::Decided(d) => d,
            Precheck::NeedsHistory(pending) => pending
                .decide(&records, now(), &mut SplitMix64::for_execution(&event.execution_id))
                .unwrap(),
        };
        (d.action, d.reason)
    }
}

/// The control: a usable policy restarts in both paths, so a `skip` below
/// is the hostile text's doing.
#[tokio::test]
async fn a_usable_policy_restarts_in_both_paths() {
    let f = Failure::new();
    let text = format!("flow: {FLOW}\n");
    assert_eq!(f.cli(&[("x.yaml", &text)]).0, Action::Retry);
    assert_eq!(f.lambda(Some(&text)).await.0, Action::Retry);
    assert_eq!(f.cli(&[]).0, Action::Retry, "no flow file: the default");
    assert_eq!(f.lambda(None).await.0, Action::Retry);
}

#[tokio::test]
async fn every_hostile_policy_decides_the_same_action_in_explain_and_the_lambda() {
    let f = Failure::new();
    let corpus = corpus::flow_texts();
    assert!(corpus.len() > 80, "the whole corpus: {}", corpus.len());
    let mut disagree = Vec::new();
    for (name, text) in &corpus {
        let (lambda, reason) = f.lambda(Some(text)).await;
        // The file's name is free: one that does not hint at the flow.
        let (cli, cli_reason) = f.cli(&[("hostile.yaml", text)]);
        if cli != lambda {
            disagree.push(format!(
                "{name}: explain {cli:?} ({cli_reason}), Lambda {lambda:?} ({reason})"
            ));
        }
        assert_eq!(lambda, Action::Skip, "{name}: the Lambda fails closed: {reason}");
        if cli == Action::Skip {
            assert!(
                cli_reason.contains("hostile.yaml:"),
                "{name}: the reason names the file: {cli_reason}"
            );
        }
    }
    assert!(
        disagree.is_empty(),
        "explain and the Lambda disagree on {} texts:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
}

/// Strict: a file whose flow cannot be read may be any flow's, even one
/// with a usable file of its own (two files claiming one flow break it).
#[tokio::test]
async fn an_unreadable_file_fails_every_flow_closed() {
    let f = Failure::new();
    let own = format!("flow: {FLOW}\n");
    for (name, text) in [
        ("alias bomb", corpus::billion_laughs()),
        ("deep nesting", "[".repeat(200)),
        ("duplicate key", "max_retries: 3\nmax_retries: 4\n".to_owned()),
        ("no flow", "max_retries: 9\n".to_owned()),
    ] {
        let (action, reason) = f.cli(&[("a-own.yaml", &own), ("other-flow.yaml", &text)]);
        assert_eq!(action, Action::Skip, "{name}: {reason}");
        assert!(reason.contains("other-flow.yaml:"), "{name}: {reason}");
    }
}

/// The binary: `explain` prints the notified skip and says on stderr why
/// the file may govern the flow; `plan` refuses, naming the file.
#[test]
fn explain_and_plan_name_the_unreadable_file() {
    let f = Failure::new();
    let policies = f.path("policies");
    fs::create_dir_all(policies.join("flows")).unwrap();
    fs::write(policies.join("default.yaml"), DEFAULT_TEXT).unwrap();
    fs::write(policies.join("flows/bomb.yaml"), corpus::billion_laughs()).unwrap();
    let out = Command::new(BIN)
        .args(["explain", "--event"])
        .arg(f.path("event.json"))
        .arg("--history")
        .arg(f.path("history.json"))
        .arg("--policies")
        .arg(&policies)
        .args(["--now", "2026-11-29T09:10:00Z"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["action"].as_str(), v["notify"].as_bool()),
        (Some("skip"), Some(true)),
        "{v}"
    );
    assert!(v["policy"].as_str().unwrap().ends_with("flows/bomb.yaml"), "{v}");
    assert!(v["reason"].as_str().unwrap().contains("flows/bomb.yaml:1:"), "{v}");
    assert!(
        stderr.contains(&format!("cannot be read far enough to know which flow it governs (its name does not decide: `flow:` does), so it may be flow {FLOW}'s")),
        "{stderr}"
    );

    let out = Command::new(BIN)
        .args(["plan", FLOW, "--policies"])
        .arg(&policies)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("flows/bomb.yaml cannot be read far enough to know which flow it governs"),
        "{stderr}"
    );
    assert!(stderr.contains("anchors"), "{stderr}");
}
