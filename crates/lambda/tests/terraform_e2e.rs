//! Terraform and code meet (issue #9): `terraform apply` of the root module
//! (terraform/) with the repository's policies against moto, then what it
//! deployed is checked against what the code expects, and the real binaries
//! run with the deployed configuration.
//!
//! Run by `make e2e` (and so by `make test` when Terraform is installed):
//!
//! ```text
//! cargo test -p appflow-retry-lambda --test terraform_e2e -- --ignored --nocapture
//! ```
//!
//! Ignored by a plain `cargo test`: it takes a few minutes and needs
//! Terraform and the hashicorp/aws provider (from the registry, or the local
//! copy in `TF_PLUGIN_DIR`, which the Makefile finds). Run explicitly without
//! Terraform it FAILS, saying so: it never passes without having run.
//!
//! Steps (each check asserts something a difference would break):
//! 1. moto through tools/moto_shim.py (the two Step Functions actions moto
//!    lacks), on a free loopback port; terraform/, statemachines/ and
//!    policies/ copied to a temporary directory with
//!    tools/terraform-moto/*.tf (the provider pointed at moto, one retry);
//!    the Lambda zips made from this build's debug binaries
//!    (tools/zip-debug-lambdas.sh: moto stores them and never runs them).
//! 2. `terraform apply`; then a second plan must change nothing but the
//!    three functions' `logging_config`, which moto does not return.
//! 3. SSM: every parameter moto holds is one policy file, by the names of
//!    crates/policy/src/naming.rs under the prefix the functions are given,
//!    with the file's exact text.
//! 4. IAM as AWS enforces it: each deployed role grants exactly its rows of
//!    the permissions table (crates/aws/src/permissions.rs), `*` only where
//!    AWS has no resource-level permission. Then, with moto's IAM
//!    enforcement on (tools/moto_shim.py makes it check ARNs) and the AppFlow
//!    emulator enforcing the same policies, the functions' environment read
//!    back from moto (GetFunctionConfiguration) runs the real `on-failure`,
//!    `restart` and `sweep` binaries under the local Runtime API, each with
//!    credentials of an sts:AssumeRole of its own deployed role, and the
//!    state machine's Tasks run under its role: a failure event, read from
//!    the intake queue with on-failure's role as the event source mapping
//!    reads it, starts an execution of the DEPLOYED state machine (moto's interpreter), whose
//!    Restart task gets the restart binary's real answer, and the restart
//!    reaches StartFlow; a duplicate event is recognised (DescribeExecution),
//!    the sweep finds a lost failure, a deactivation is decided from the
//!    flow's description and notified. Nothing is denied, and each role used
//!    exactly its `Code` rows: so removing any action from a role fails here.
//! 5. The deployed rule's pattern, routed by EventBridge (common/routing.rs),
//!    takes the failure events and not the success one; its target is the
//!    intake queue, which feeds the deployed on-failure function through an
//!    event source mapping and moves what it cannot handle to the errors
//!    queue; the rule's dead letters go to the events queue, and on-failure's
//!    failed asynchronous invocations (redrive's) to the errors queue.
//! 6. A policy edit is readable in `terraform plan` (the text's changed lines,
//!    not "(sensitive value)"), and `terraform apply` updates the parameter.
//! 7. `terraform destroy` leaves nothing in moto: every kind of resource the
//!    state held is listed per service (tools/moto_inventory.py) before
//!    (as many as the state says) and after (none).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use appflow_emulator::{Emulator, Flow, Operation, Principal, TriggerType, flow_deactivated};
use appflow_retry_aws::permissions::{self, Need, Resource, Role};
use appflow_retry_aws::sdk_config_for_endpoint;
use appflow_retry_policy::naming::{default_parameter, execution_name, flow_parameter};
use appflow_retry_policy::yaml::YamlDoc;
use appflow_retry_policy::{FlowPolicy, PolicyFile, RandomSource, SplitMix64, format_time};
use appflow_retry_testkit::lambda_api::RuntimeApi;
use appflow_retry_testkit::moto::{Moto, moto_python};
use aws_sdk_sfn::types::ExecutionStatus;
use chrono::{TimeDelta, Utc};
use common::routing::{FAILED, SUCCEEDED, deactivated, routed, with};
use serde::Deserialize;
use serde_json::{Value, json};

/// The flow the binaries are run for: one with a policy file of its own, so
/// the decision shows which parameter the function read.
const FLOW: &str = "salesforce-accounts";
/// An error message the built-in classes call `transient`.
const ERROR_MESSAGE: &str = "Read timed out";
const ERROR_CLASS: &str = "transient";
/// The backoff the test waits out in moto's interpreter: long enough to read
/// the execution, run the restart binary and queue its answer before the
/// Wait ends, short enough not to slow the test.
const DELAY_WINDOW: std::ops::RangeInclusive<u64> = 6..=9;

/// The root module's inputs for the e2e: not the defaults, so that a value
/// the code defaults to (the SSM prefix, the resource names) cannot hide a
/// setting Terraform fails to pass; a flow filter, so the deployed pattern
/// has names and prefixes.
const TFVARS: &str = r#"{
  "name": "e2e-retry",
  "ssm_prefix": "/e2e/appflow-retry",
  "covered_flows": ["salesforce-*", "sap-odata-sales-orders", "nightly-orders-sync"]
}"#;
/// A covered flow whose policy re-activates it: its deactivation event makes
/// on-failure call DescribeFlow.
const REACTIVATED_FLOW: &str = "nightly-orders-sync";
/// A flow with a policy file that `covered_flows` leaves out.
const UNCOVERED_FLOW: &str = "zendesk-tickets-backfill";

/// Resource types whose objects tools/moto_inventory.py lists, by kind.
const LISTED: &[(&str, &str)] = &[
    ("aws_cloudwatch_event_rule", "eventbridge rules"),
    ("aws_cloudwatch_event_target", "eventbridge targets"),
    ("aws_cloudwatch_log_group", "logs groups"),
    ("aws_cloudwatch_log_metric_filter", "logs metric filters"),
    ("aws_cloudwatch_metric_alarm", "cloudwatch alarms"),
    ("aws_cloudwatch_dashboard", "cloudwatch dashboards"),
    ("aws_cloudwatch_query_definition", "logs query definitions"),
    ("aws_iam_role", "iam roles"),
    ("aws_iam_role_policy", "iam role policies"),
    ("aws_kms_alias", "kms aliases (not AWS managed)"),
    ("aws_kms_key", "kms keys (not pending deletion)"),
    ("aws_lambda_function", "lambda functions"),
    ("aws_lambda_event_source_mapping", "lambda event source mappings"),
    ("aws_sfn_state_machine", "sfn state machines"),
    ("aws_sns_topic", "sns topics"),
    ("aws_sns_topic_subscription", "sns subscriptions"),
    ("aws_sqs_queue", "sqs queues"),
    ("aws_ssm_parameter", "ssm parameters"),
];
/// Resource types that live in the Terraform state only, never in AWS.
const STATE_ONLY: &[&str] = &["terraform_data"];
/// Resource types that are attributes of a listed object and go with it.
const ATTACHED: &[&str] = &[
    "aws_lambda_function_event_invoke_config",
    "aws_lambda_permission",
    "aws_sns_topic_policy",
    "aws_sqs_queue_policy",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn step(started: Instant, what: &str) {
    eprintln!("[e2e {:>5.1}s] {what}", started.elapsed().as_secs_f64());
}

/// A temporary directory, removed at the end unless the test failed (then
/// its path is printed: terraform's output and the functions' logs are in it).
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> WorkDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!("appflow-retry-e2e-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("e2e failed: its work directory is kept: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Copies `src` into `dst`, leaving out Terraform's local files (a copy of
/// someone's .terraform/, state or lock file must not leak into the run).
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".terraform") || name.contains(".tfstate") {
            continue;
        }
        let to = dst.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// The last `n` lines of a file, for failure messages.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Terraform in the work directory's copy of the root module.
struct Terraform {
    program: String,
    dir: PathBuf,
    plugin_dir: Option<String>,
    moto_endpoint: String,
    logs: PathBuf,
}

impl Terraform {
    /// The Terraform to use (`TERRAFORM`, else `terraform`), or a loud failure.
    fn program() -> String {
        let program = std::env::var("TERRAFORM")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "terraform".to_owned());
        match std::process::Command::new(&program)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(status) if status.success() => program,
            other => panic!(
                "the Terraform e2e needs Terraform, and `{program} version` did not run ({other:?}): \
                 install Terraform >= 1.9 (or set TERRAFORM), or run `make test`, which skips the e2e \
                 with a message when Terraform is absent"
            ),
        }
    }

    /// Runs `terraform <args>` (with `-var moto_endpoint=...` when `vars`),
    /// output to a log file; returns stdout. Fails with the log's end.
    async fn run(&self, name: &str, args: &[&str], vars: bool, limit: Duration) -> String {
        let log = self.logs.join(format!("terraform-{name}.log"));
        let mut command = tokio::process::Command::new(&self.program);
        command
            .current_dir(&self.dir)
            .args(args)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(File::create(&log).unwrap()))
            .kill_on_drop(true);
        if vars {
            command.arg(format!("-var=moto_endpoint={}", self.moto_endpoint));
        }
        // A CLI config variable naming a missing file only makes Terraform warn.
        if std::env::var_os("TF_CLI_CONFIG_FILE").is_some_and(|f| !Path::new(&f).is_file()) {
            command.env_remove("TF_CLI_CONFIG_FILE");
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program));
        let output = match tokio::time::timeout(limit, child.wait_with_output()).await {
            Ok(output) => output.unwrap(),
            Err(_) => panic!(
                "terraform {name} did not finish within {} s (a moto gap the provider retries?); \
                 end of its log:\n{}",
                limit.as_secs(),
                tail(&log, 40)
            ),
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        std::fs::write(self.logs.join(format!("terraform-{name}.out")), &stdout).unwrap();
        assert!(
            output.status.success(),
            "terraform {name} failed ({}); end of its output:\n{}\n{}",
            output.status,
            stdout
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n"),
            tail(&log, 40)
        );
        stdout
    }

    async fn init(&self) {
        let plugin_dir = self.plugin_dir.as_ref().map(|d| format!("-plugin-dir={d}"));
        let mut args = vec!["init", "-input=false", "-backend=false", "-no-color"];
        args.extend(plugin_dir.as_deref());
        self.run("init", &args, false, Duration::from_secs(180)).await;
    }

    async fn json(&self, name: &str, args: &[&str]) -> Value {
        let out = self.run(name, args, false, Duration::from_secs(120)).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("terraform {name}: not JSON ({e})"))
    }
}

/// A local copy of the hashicorp/aws provider for `terraform init
/// -plugin-dir`: `TF_PLUGIN_DIR` as the Makefile sets it, else what
/// tools/find-terraform-plugins.sh finds; none: init from the registry.
fn plugin_dir(root: &Path) -> Option<String> {
    let dir = match std::env::var("TF_PLUGIN_DIR") {
        Ok(dir) => dir,
        Err(_) => {
            let out = std::process::Command::new(root.join("tools/find-terraform-plugins.sh"))
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    };
    Some(dir).filter(|d| !d.is_empty())
}

/// The repository's policy files as the Lambdas must find them in SSM:
/// parameter name → the file's exact text.
fn expected_parameters(root: &Path, prefix: &str) -> BTreeMap<String, String> {
    let policies = root.join("policies");
    let mut expected = BTreeMap::new();
    let default = ["default.yaml", "default.yml"]
        .iter()
        .map(|f| policies.join(f))
        .find(|p| p.is_file());
    if let Some(path) = default {
        expected.insert(default_parameter(prefix), std::fs::read_to_string(path).unwrap());
    }
    let mut flow_files: Vec<PathBuf> = std::fs::read_dir(policies.join("flows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    flow_files.sort();
    for path in flow_files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file: PolicyFile = YamlDoc::parse(&path.display().to_string(), &text)
            .and_then(|doc| doc.deserialize())
            .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
        let flow = file.flow.unwrap_or_else(|| panic!("{}: no flow", path.display()));
        assert!(
            expected.insert(flow_parameter(prefix, &flow), text).is_none(),
            "two files for flow {flow}"
        );
    }
    expected
}

/// Managed resources in the state, counted by inventory kind. A resource
/// type the inventory does not list fails: the destroy check would miss it.
fn state_counts(state: &Value) -> BTreeMap<String, usize> {
    fn walk(module: &Value, out: &mut Vec<String>) {
        for r in module["resources"].as_array().into_iter().flatten() {
            if r["mode"] == "managed" {
                out.push(r["type"].as_str().unwrap().to_owned());
            }
        }
        for child in module["child_modules"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    let mut types = Vec::new();
    walk(&state["values"]["root_module"], &mut types);
    let mut counts: BTreeMap<String, usize> = LISTED.iter().map(|(_, kind)| ((*kind).to_owned(), 0)).collect();
    for t in types {
        if let Some((_, kind)) = LISTED.iter().find(|(ty, _)| *ty == t) {
            *counts.get_mut(*kind).unwrap() += 1;
        } else {
            assert!(
                ATTACHED.contains(&t.as_str()) || STATE_ONLY.contains(&t.as_str()),
                "the root module now creates {t}: list it in tools/moto_inventory.py and LISTED \
                 (or ATTACHED if it goes with its parent), so the destroy check covers it"
            );
        }
    }
    counts
}

/// What moto holds, per kind (tools/moto_inventory.py).
fn inventory(root: &Path, endpoint: &str) -> BTreeMap<String, Vec<String>> {
    serde_json::from_slice(&moto_tool(root, "moto_inventory.py", &[endpoint])).unwrap()
}

/// Runs tools/`script` with moto's Python and `args`; its stdout.
fn moto_tool(root: &Path, script: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(moto_python().unwrap())
        .arg(root.join("tools").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A deployed function's configuration, read back from moto.
fn function_configuration(moto: &Moto, name: &str) -> Value {
    moto.rest_get_json("lambda", &format!("/2015-03-31/functions/{name}/configuration"))
        .unwrap_or_else(|e| panic!("GetFunctionConfiguration {name}: {e}"))
}

/// The environment variables of a function configuration.
fn environment(config: &Value) -> BTreeMap<String, String> {
    config["Environment"]["Variables"]
        .as_object()
        .unwrap_or_else(|| panic!("no environment in {config}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// An administrator's access key, for the test's own calls once moto
/// enforces IAM.
#[derive(Debug, Deserialize)]
struct AccessKey {
    access_key_id: String,
    secret_access_key: String,
}

/// An sts:AssumeRole session of a deployed role, and the role's inline
/// policies (tools/moto_iam.py).
#[derive(Debug, Deserialize)]
struct Session {
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    principal: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    policies: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct Principals {
    admin: AccessKey,
    /// Role ARN → its session.
    roles: BTreeMap<String, Session>,
}

/// Runs tools/moto_iam.py with `args`; its stdout.
fn moto_iam(root: &Path, args: &[&str]) -> Vec<u8> {
    moto_tool(root, "moto_iam.py", args)
}

/// The actions a role's policies allow, each with the resources it is
/// allowed on. Only what iam.tf writes is read (Allow, Action, Resource): any
/// other element fails, so that the comparison cannot miss a grant.
fn granted(role: &str, policies: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    fn strings(v: &Value) -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
            other => panic!("not a string or list: {other}"),
        }
    }
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for policy in policies {
        let statements = match &policy["Statement"] {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for statement in statements {
            let keys: BTreeSet<&str> = statement.as_object().unwrap().keys().map(String::as_str).collect();
            assert!(
                keys.is_subset(&BTreeSet::from(["Sid", "Effect", "Action", "Resource"])),
                "{role}: a statement with {keys:?}: read it here before comparing grants"
            );
            assert_eq!(statement["Effect"], "Allow", "{role}: {statement}");
            for action in strings(&statement["Action"]) {
                out.entry(action).or_default().extend(strings(&statement["Resource"]));
            }
        }
    }
    out
}

/// One authorization decision, from the shim's log or the AppFlow emulator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Decided {
    role: String,
    action: String,
    resource: String,
    allowed: bool,
}

/// The role name of an assumed-role principal ARN (None for the admin user).
fn role_of(principal: &str) -> Option<String> {
    let rest = principal.split(":assumed-role/").nth(1)?;
    Some(rest.split('/').next()?.to_owned())
}

/// moto's decisions for assumed roles (tools/moto_shim.py's log).
fn moto_decisions(log: &Path) -> Vec<Decided> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|d| {
            Some(Decided {
                role: role_of(d["principal"].as_str()?)?,
                action: d["action"].as_str()?.to_owned(),
                resource: d["resource"].as_str()?.to_owned(),
                allowed: d["allowed"].as_bool()?,
            })
        })
        .collect()
}

/// Runs a Lambda binary as Lambda would run the deployed function: ONLY its
/// deployed environment, plus what the Lambda service itself sets (the
/// Runtime API, function name, memory, region, the role's credentials) and
/// the endpoints of moto and the AppFlow emulator.
fn spawn_deployed(
    api: &RuntimeApi,
    binary: &str,
    config: &Value,
    session: &Session,
    moto: &str,
    appflow: &str,
    log: &Path,
) -> tokio::process::Child {
    let name = config["FunctionName"].as_str().unwrap();
    let log = File::create(log).unwrap();
    tokio::process::Command::new(binary)
        .env_clear()
        .envs(environment(config))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", config["MemorySize"].to_string())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "e2e")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", &session.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &session.secret_access_key)
        .env("AWS_SESSION_TOKEN", &session.session_token)
        .env("AWS_ENDPOINT_URL", moto)
        .env("AWS_ENDPOINT_URL_APPFLOW", appflow)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The state machine's executions (one page: the e2e starts a handful).
async fn executions_of(sfn: &aws_sdk_sfn::Client, machine_arn: &str) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
    sfn.list_executions()
        .state_machine_arn(machine_arn)
        .send()
        .await
        .unwrap()
        .executions
}

/// The attributes a planned change changes, sorted. moto returns a queue's
/// RedrivePolicy as Python's json.dumps writes it (with spaces), AWS
/// compactly: the same JSON in another format is no change.
fn changed_keys(change: &Value) -> Vec<String> {
    let (before, after) = (&change["before"], &change["after"]);
    let mut keys: Vec<String> = before
        .as_object()
        .into_iter()
        .chain(after.as_object())
        .flat_map(|o| o.keys().cloned())
        .filter(|k| {
            let (b, a) = (before.get(k), after.get(k));
            let same_json = match (b.and_then(Value::as_str), a.and_then(Value::as_str)) {
                (Some(b), Some(a)) => serde_json::from_str::<Value>(b)
                    .ok()
                    .is_some_and(|b| serde_json::from_str::<Value>(a).ok() == Some(b)),
                _ => false,
            };
            (b != a && !same_json) || change["after_unknown"].get(k).is_some_and(|u| u != false)
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// What Lambda's event source mappings do on the intake and restart queues
/// with on-failure's and restart's roles (their Platform rows in the
/// permissions table).
const EVENT_SOURCE_MAPPING_ACTIONS: [&str; 3] = ["sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:DeleteMessage"];

/// An SDK configuration with a role session's credentials.
async fn role_config(session: &Session, endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            &session.access_key_id,
            &session.secret_access_key,
            Some(session.session_token.clone()),
            None,
            "e2e-role-session",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

async fn invoke(api: &RuntimeApi, payload: Value, what: &str, log: &Path) -> Value {
    match tokio::time::timeout(Duration::from_secs(60), api.invoke(payload)).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("{what} failed: {e}; its log:\n{}", tail(log, 30)),
        Err(_) => panic!("{what} did not answer in 60 s; its log:\n{}", tail(log, 30)),
    }
}

/// Plays a queue's event source mapping with the function's role, as Lambda
/// does: reads the queue's attributes, waits for a message, hands it to the
/// function (`what`) as an SQS batch, deletes it, and returns its body, the
/// function's reply and how long the invocation took.
async fn play_mapping(
    mapping: &aws_sdk_sqs::Client,
    queue_url: &str,
    api: &RuntimeApi,
    log: &Path,
    what: &str,
) -> (Value, Value, Duration) {
    mapping
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let mut queued = Vec::new();
    for _ in 0..400 {
        queued = mapping
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if !queued.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queued.len(), 1, "nothing came to {queue_url} within 20 s for {what}");
    let message = &queued[0];
    let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    let batch = json!({"Records": [{
        "messageId": message.message_id(), "receiptHandle": message.receipt_handle(),
        "body": message.body(), "attributes": {}, "messageAttributes": {}, "md5OfBody": message.md5_of_body(),
        "eventSource": "aws:sqs", "eventSourceARN": common::queue_arn(mapping, queue_url).await,
        "awsRegion": "us-east-1",
    }]});
    let invoked_at = Instant::now();
    let replied = invoke(api, batch, &format!("{what} (queue batch)"), log).await;
    let took = invoked_at.elapsed();
    mapping
        .delete_message()
        .queue_url(queue_url)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    (body, replied, took)
}

/// A failed-run id whose first restart `policy` delays by a number of
/// seconds in DELAY_WINDOW (jitter is seeded by the execution id).
fn execution_id_with_short_delay(root: &Path, prefix: &str) -> (String, u64) {
    let policies = root.join("policies");
    let default = std::fs::read_to_string(policies.join("default.yaml")).unwrap();
    let flow_text = std::fs::read_to_string(policies.join("flows").join(format!("{FLOW}.yaml"))).unwrap();
    let (default_name, flow_name) = (default_parameter(prefix), flow_parameter(prefix, FLOW));
    let FlowPolicy::Usable(policy) = FlowPolicy::from_texts(
        FLOW,
        Some((default_name.as_str(), default.as_str())),
        Some((flow_name.as_str(), flow_text.as_str())),
    ) else {
        panic!("the repository's policy for {FLOW} is not usable");
    };
    let backoff = policy.policy.for_class(ERROR_CLASS).backoff;
    (0..200_000u64)
        .map(|i| format!("e2e00000-0000-4000-8000-{i:012}"))
        .map(|id| {
            let delay = backoff.delay(1, &mut SplitMix64::for_execution(&id) as &mut dyn RandomSource);
            (id, delay)
        })
        .find(|(_, delay)| DELAY_WINDOW.contains(delay))
        .unwrap_or_else(|| panic!("no execution id gives {FLOW} a first delay in {DELAY_WINDOW:?} s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "terraform apply against moto, a few minutes: run by `make e2e` (part of `make test` with Terraform)"]
async fn terraform_apply_on_moto_deploys_what_the_code_expects() {
    let started = Instant::now();
    let root = workspace_root();
    let program = Terraform::program();

    // ---------------------------------------------------------------- 1. set up
    step(started, "moto (tools/moto_shim.py), work directory, Lambda zips");
    let shim = root.join("tools/moto_shim.py");
    let work = WorkDir::new();
    let auth_log = work.0.join("moto-authorizations.jsonl");
    let log_for_moto = auth_log.clone();
    let moto = tokio::task::spawn_blocking(move || {
        Moto::start_script_with_env(&shim, &[("MOTO_SHIM_AUTH_LOG", log_for_moto.as_path())])
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("moto with tools/moto_shim.py: {e}"));
    for dir in ["terraform", "statemachines", "policies"] {
        copy_tree(&root.join(dir), &work.0.join(dir));
    }
    for file in ["moto.tf", "moto_override.tf"] {
        std::fs::copy(
            root.join("tools/terraform-moto").join(file),
            work.0.join("terraform").join(file),
        )
        .unwrap();
    }
    std::fs::write(work.0.join("terraform/e2e.auto.tfvars.json"), TFVARS).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_on-failure")).parent().unwrap();
    let zipped = std::process::Command::new(root.join("tools/zip-debug-lambdas.sh"))
        .arg(bin_dir)
        .arg(work.0.join("target/lambda"))
        .env("PYTHON", moto_python().unwrap())
        .status()
        .unwrap();
    assert!(zipped.success(), "tools/zip-debug-lambdas.sh failed");

    let tf = Terraform {
        program,
        dir: work.0.join("terraform"),
        plugin_dir: plugin_dir(&root),
        moto_endpoint: moto.endpoint().to_owned(),
        logs: work.0.clone(),
    };

    // ---------------------------------------------------------------- 2. apply, plan again
    step(started, "terraform init");
    tf.init().await;
    step(started, "terraform apply");
    tf.run(
        "apply",
        &["apply", "-auto-approve", "-input=false", "-no-color"],
        true,
        Duration::from_secs(480),
    )
    .await;
    let outputs = tf.json("output", &["output", "-json"]).await;
    let output = |name: &str| -> String {
        outputs[name]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no output {name}"))
            .to_owned()
    };
    let state = tf.json("show-state", &["show", "-json"]).await;

    step(
        started,
        "second terraform plan: only moto's missing LoggingConfig may differ",
    );
    tf.run(
        "plan",
        &["plan", "-input=false", "-no-color", "-out=second.tfplan"],
        true,
        Duration::from_secs(300),
    )
    .await;
    let plan = tf.json("show-plan", &["show", "-json", "second.tfplan"]).await;
    let mut changes = BTreeMap::new();
    for rc in plan["resource_changes"].as_array().unwrap() {
        let change = &rc["change"];
        if change["actions"] == json!(["no-op"]) {
            continue;
        }
        let keys = changed_keys(change);
        if !keys.is_empty() {
            changes.insert(
                rc["address"].as_str().unwrap().to_owned(),
                (
                    change["actions"].clone(),
                    keys,
                    change["after"]["logging_config"].clone(),
                ),
            );
        }
    }
    let functions =
        ["on-failure", "restart", "sweep"].map(|f| format!("module.service.aws_lambda_function.this[\"{f}\"]"));
    assert_eq!(
        changes.keys().cloned().collect::<Vec<_>>(),
        functions.to_vec(),
        "the second plan changes other resources than moto's LoggingConfig gap explains: {changes:#?}"
    );
    for (address, (actions, keys, logging)) in &changes {
        assert_eq!(actions, &json!(["update"]), "{address}");
        assert_eq!(keys, &["logging_config"], "{address}: {changes:#?}");
        assert_eq!(logging[0]["log_format"], "JSON", "{address}: {logging}");
    }
    let outputs_changed: Vec<&String> = plan["output_changes"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, c)| c["actions"] != json!(["no-op"]))
        .map(|(name, _)| name)
        .collect();
    assert!(outputs_changed.is_empty(), "outputs change: {outputs_changed:?}");

    // ---------------------------------------------------------------- inventory
    step(started, "moto holds what the state says");
    let expected_counts = state_counts(&state);
    let applied = inventory(&root, moto.endpoint());
    let applied_counts: BTreeMap<String, usize> = applied
        .iter()
        .filter(|(kind, _)| expected_counts.contains_key(*kind))
        .map(|(kind, names)| (kind.clone(), names.len()))
        .collect();
    assert_eq!(applied_counts, expected_counts, "moto: {applied:#?}");

    // ---------------------------------------------------------------- 3. SSM
    step(started, "SSM parameters: the policy files, by the Rust names");
    let on_failure_config = function_configuration(&moto, &output("on_failure_function_name"));
    let restart_config = function_configuration(&moto, &output("restart_function_name"));
    let sweep_config = function_configuration(&moto, &output("sweep_function_name"));
    let on_failure_env = environment(&on_failure_config);
    let restart_env = environment(&restart_config);
    let prefix = on_failure_env
        .get("APPFLOW_RETRY_POLICY_PREFIX")
        .expect("on-failure has APPFLOW_RETRY_POLICY_PREFIX")
        .clone();
    let tfvars: Value = serde_json::from_str(TFVARS).unwrap();
    assert_eq!(prefix, tfvars["ssm_prefix"], "on-failure is not given ssm_prefix");
    assert_eq!(restart_env.get("APPFLOW_RETRY_POLICY_PREFIX"), Some(&prefix));
    // The roles' sessions, and an administrator for the test's own calls
    // (moto refuses unknown keys once it enforces IAM).
    let machine_role = aws_sdk_sfn::Client::new(&sdk_config_for_endpoint(moto.endpoint()).await)
        .describe_state_machine()
        .state_machine_arn(output("state_machine_arn"))
        .send()
        .await
        .unwrap()
        .role_arn;
    let roles: Vec<(Role, String)> = [
        (Role::OnFailure, &on_failure_config),
        (Role::Restart, &restart_config),
        (Role::Sweep, &sweep_config),
    ]
    .into_iter()
    .map(|(role, config)| (role, config["Role"].as_str().unwrap().to_owned()))
    .chain([(Role::StateMachine, machine_role)])
    .collect();
    let mut iam_args = vec!["principals", moto.endpoint()];
    iam_args.extend(roles.iter().map(|(_, arn)| arn.as_str()));
    let principals: Principals = serde_json::from_slice(&moto_iam(&root, &iam_args)).unwrap();
    let moto_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            &principals.admin.access_key_id,
            &principals.admin.secret_access_key,
            None,
            None,
            "e2e-administrator",
        ))
        .endpoint_url(moto.endpoint())
        .load()
        .await;
    let session = |role: Role| -> &Session {
        let arn = &roles.iter().find(|(r, _)| *r == role).unwrap().1;
        &principals.roles[arn]
    };
    let ssm = aws_sdk_ssm::Client::new(&moto_config);
    let mut deployed = BTreeMap::new();
    let mut pages = ssm.describe_parameters().into_paginator().send();
    while let Some(page) = pages.next().await {
        for p in page.unwrap().parameters.unwrap_or_default() {
            let name = p.name.unwrap();
            let value = ssm
                .get_parameter()
                .name(&name)
                .send()
                .await
                .unwrap()
                .parameter
                .unwrap()
                .value
                .unwrap();
            deployed.insert(name, value);
        }
    }
    let expected = expected_parameters(&root, &prefix);
    assert_eq!(
        deployed.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "SSM names differ from crates/policy/src/naming.rs under {prefix:?}"
    );
    for (name, text) in &expected {
        assert_eq!(&deployed[name], text, "{name}: the value is not its policy file");
    }
    let output_names: Vec<&str> = outputs["policy_parameter_names"]["value"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut output_names = output_names;
    output_names.sort_unstable();
    assert_eq!(output_names, expected.keys().map(String::as_str).collect::<Vec<_>>());

    // ---------------------------------------------------------------- 4. IAM
    step(
        started,
        "IAM: each deployed role grants exactly its rows of the permissions table",
    );
    for (role, arn) in &roles {
        let grants = granted(arn, &session(*role).policies);
        let expected = permissions::actions(*role, None);
        assert_eq!(
            grants.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            expected,
            "role {arn} ({role:?}) grants other actions than crates/aws/src/permissions.rs lists"
        );
        for p in permissions::permissions().filter(|p| p.role == *role) {
            let resources = &grants[p.action];
            assert_eq!(
                resources.contains("*"),
                p.resource == Resource::Any,
                "role {arn}: {} on {resources:?}, the table says {:?}",
                p.action,
                p.resource
            );
        }
    }

    // ---------------------------------------------------------------- 4. binaries
    step(
        started,
        "the real binaries with the deployed environment, under their roles, IAM enforced",
    );
    let machine_arn = output("state_machine_arn");
    assert_eq!(
        on_failure_env.get("APPFLOW_RETRY_STATE_MACHINE_ARN"),
        Some(&machine_arn),
        "on-failure is not given the deployed state machine"
    );
    let sfn = aws_sdk_sfn::Client::new(&moto_config);
    let definition = sfn
        .describe_state_machine()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .unwrap()
        .definition;
    let template = std::fs::read_to_string(root.join("statemachines/retry.asl.json")).unwrap();
    let restart_queue_url = output("restart_queue_url");
    let rendered = template
        .replace("${restart_queue_url}", &restart_queue_url)
        .replace("${topic_arn}", &output("topic_arn"));
    assert_eq!(
        serde_json::from_str::<Value>(&definition).unwrap(),
        serde_json::from_str::<Value>(&rendered).unwrap(),
        "the deployed definition is not statemachines/retry.asl.json with the deployed ARNs"
    );

    let emulator = Emulator::start().await.unwrap();
    emulator
        .enforce_iam(roles.iter().filter(|(r, _)| r.function().is_some()).map(|(r, _)| {
            let s = session(*r);
            (
                s.access_key_id.clone(),
                Principal {
                    arn: s.principal.clone(),
                    policies: s.policies.clone(),
                },
            )
        }))
        .unwrap();
    // moto plays the queues' event source mappings itself on SendMessage (it would run
    // the function in Docker, and hide the message for the visibility timeout): switched off,
    // so that this test plays them with the real binaries and the functions' roles.
    let mappings = moto
        .rest_get_json("lambda", "/2015-03-31/event-source-mappings/")
        .unwrap();
    let mappings = mappings["EventSourceMappings"].as_array().unwrap();
    assert_eq!(
        mappings.len(),
        2,
        "two event source mappings, the intake queue's and the restart queue's: {mappings:#?}"
    );
    let mapping_ids: Vec<String> = mappings
        .iter()
        .map(|m| m["UUID"].as_str().unwrap().to_owned())
        .collect();
    for uuid in &mapping_ids {
        let updated = moto
            .rest_put_json(
                "lambda",
                &format!("/2015-03-31/event-source-mappings/{uuid}"),
                &json!({"Enabled": false}),
            )
            .unwrap();
        assert_ne!(updated["State"], "Enabled", "{updated:#}");
    }
    moto_iam(&root, &["enforce", moto.endpoint(), "on"]);
    emulator.add_flow(Flow::on_demand(FLOW));
    let (failed_id, delay) = execution_id_with_short_delay(&root, &prefix);
    let failed_at = Utc::now() - TimeDelta::minutes(3);
    let event = emulator.fail_run(FLOW, &failed_id, failed_at, ERROR_MESSAGE);
    let on_failure_api = RuntimeApi::start().await.unwrap();
    let restart_api = RuntimeApi::start().await.unwrap();
    let on_failure_log = work.0.join("on-failure.log");
    let restart_log = work.0.join("restart.log");
    let appflow = emulator.endpoint();
    let _on_failure = spawn_deployed(
        &on_failure_api,
        env!("CARGO_BIN_EXE_on-failure"),
        &on_failure_config,
        session(Role::OnFailure),
        moto.endpoint(),
        &appflow,
        &on_failure_log,
    );
    let _restart = spawn_deployed(
        &restart_api,
        env!("CARGO_BIN_EXE_restart"),
        &restart_config,
        session(Role::Restart),
        moto.endpoint(),
        &appflow,
        &restart_log,
    );

    // The failure comes as the rule sends it: a message in the intake queue,
    // which the event source mapping reads with on-failure's role (played
    // here: ReceiveMessage, the batch to the binary, DeleteMessage of a
    // message the reply does not keep).
    let intake_url = output("intake_queue_url");
    aws_sdk_sqs::Client::new(&moto_config)
        .send_message()
        .queue_url(&intake_url)
        .message_body(event.to_string())
        .send()
        .await
        .unwrap();
    let mapping = aws_sdk_sqs::Client::new(&role_config(session(Role::OnFailure), moto.endpoint()).await);
    let (_, replied, _) = play_mapping(&mapping, &intake_url, &on_failure_api, &on_failure_log, "on-failure").await;
    assert_eq!(
        replied,
        json!({"batchItemFailures": []}),
        "on-failure kept the message; its log:\n{}",
        tail(&on_failure_log, 30)
    );

    let executions = executions_of(&sfn, &machine_arn).await;
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0].name, execution_name(FLOW, &failed_id));
    let execution_arn = executions[0].execution_arn.clone();
    let running = sfn
        .describe_execution()
        .execution_arn(&execution_arn)
        .send()
        .await
        .unwrap();
    let input: Value = serde_json::from_str(running.input.as_deref().unwrap()).unwrap();
    let decision = &input["decision"];
    assert_eq!(decision["action"], "retry", "{input:#}");
    assert_eq!(decision["error_class"], ERROR_CLASS, "{input:#}");
    assert_eq!(
        decision["policy"],
        flow_parameter(&prefix, FLOW),
        "on-failure did not decide on the flow's deployed parameter: {input:#}"
    );
    assert_eq!(decision["delay_seconds"], delay, "{input:#}");
    let start = running.start_date;
    let start = chrono::DateTime::from_timestamp(start.secs(), start.subsec_nanos()).unwrap();

    // The Restart task's payload, as the definition builds it from $ and $$.
    let payload = json!({
        "flow_name": input["flow_name"],
        "execution_id": input["execution_id"],
        "decision": input["decision"],
        "execution_name": running.name,
        "execution_started_at": format_time(start),
    });
    // After the Wait, the Restart task sends the restart to the restart queue
    // with the state machine's role; the restart queue's event source mapping
    // (played here with the restart function's role) hands it to the restart
    // binary, which answers the waiting execution (SendTaskHeartbeat, then
    // SendTaskSuccess) and lasts at least the deployed pace.
    let restart_env = environment(&restart_config);
    let pace_ms: u64 = restart_env
        .get("APPFLOW_RETRY_RESTART_PACE_MS")
        .expect("the restart function is given its pace")
        .parse()
        .unwrap();
    let (_, pace) = appflow_retry_runtime::RestartPace::for_rate(60).unwrap();
    assert_eq!(
        u128::from(pace_ms),
        pace.pace.as_millis(),
        "restart_rate_per_minute 60: Terraform's pace is the runtime's"
    );
    let restart_mapping = aws_sdk_sqs::Client::new(&role_config(session(Role::Restart), moto.endpoint()).await);
    let (body, replied, took) = play_mapping(
        &restart_mapping,
        &restart_queue_url,
        &restart_api,
        &restart_log,
        "restart",
    )
    .await;
    for key in ["flow_name", "execution_id", "decision", "execution_name"] {
        assert_eq!(
            body["restart"][key], payload[key],
            "Restart message field restart.{key}"
        );
    }
    let sent_start =
        appflow_retry_policy::appflow::parse_time(body["restart"]["execution_started_at"].as_str().unwrap()).unwrap();
    assert!(
        (sent_start - start).num_milliseconds().abs() < 1000,
        "{sent_start} vs {start}"
    );
    assert!(body["task_token"].is_string(), "{body:#}");
    assert_eq!(
        replied,
        json!({"batchItemFailures": []}),
        "restart kept the message; its log:\n{}",
        tail(&restart_log, 30)
    );
    assert!(
        took >= Duration::from_millis(pace_ms),
        "the invocation took {took:?}, less than the pace of {pace_ms} ms it waits after its restart: the rate is not kept"
    );
    assert_eq!(
        emulator.count(Operation::StartFlow),
        1,
        "the restart did not reach StartFlow"
    );

    let mut finished = running;
    for _ in 0..600 {
        finished = sfn
            .describe_execution()
            .execution_arn(&execution_arn)
            .send()
            .await
            .unwrap();
        if finished.status != ExecutionStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = sfn
        .get_execution_history()
        .execution_arn(&execution_arn)
        .max_results(1000)
        .send()
        .await
        .unwrap()
        .events;
    assert_eq!(
        finished.status,
        ExecutionStatus::Succeeded,
        "{finished:?}\n{history:#?}"
    );
    let entered: Vec<&str> = history
        .iter()
        .filter_map(|e| e.state_entered_event_details().map(|d| d.name.as_str()))
        .collect();
    let output_json: Value = serde_json::from_str(finished.output.as_deref().unwrap()).unwrap();
    let restarted = &output_json["restart"];
    assert_eq!(restarted["outcome"], "restarted", "{output_json:#}");
    assert!(restarted["new_execution_id"].is_string(), "{output_json:#}");
    let mut expected_states = vec!["Route", "WaitBackoff", "Restart", "AfterRestart"];
    if restarted["notify"] == true {
        expected_states.push("NotifyRestartOutcome");
    }
    expected_states.push("Done");
    assert_eq!(entered, expected_states);
    // What moto's interpreter sent: the deployed restart queue.
    let scheduled: Vec<Value> = history
        .iter()
        .filter_map(|e| e.task_scheduled_event_details())
        .map(|d| serde_json::from_str(&d.parameters).unwrap())
        .collect();
    assert_eq!(scheduled.len(), 1, "{scheduled:#?}");
    assert_eq!(scheduled[0]["QueueUrl"], restart_queue_url.as_str());

    // A forged execution (someone with states:StartExecution) under a name
    // that is not the failure's: the restart refuses it, and answers the
    // execution with the error's name (SendTaskFailure under the restart role).
    let mut forged_input = input.clone();
    forged_input["decision"]["delay_seconds"] = json!(0);
    let forged = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .name("forged-e2e")
        .input(forged_input.to_string())
        .send()
        .await
        .unwrap()
        .execution_arn;
    let (forged_body, forged_reply, _) = play_mapping(
        &restart_mapping,
        &restart_queue_url,
        &restart_api,
        &restart_log,
        "restart",
    )
    .await;
    assert_eq!(forged_body["restart"]["execution_name"], "forged-e2e");
    assert_eq!(
        forged_reply,
        json!({"batchItemFailures": []}),
        "{}",
        tail(&restart_log, 30)
    );
    let mut refused = sfn.describe_execution().execution_arn(&forged).send().await.unwrap();
    for _ in 0..600 {
        if refused.status != ExecutionStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        refused = sfn.describe_execution().execution_arn(&forged).send().await.unwrap();
    }
    assert_eq!(refused.status, ExecutionStatus::Failed, "{refused:?}");
    let refused_states: Vec<String> = sfn
        .get_execution_history()
        .execution_arn(&forged)
        .max_results(1000)
        .send()
        .await
        .unwrap()
        .events
        .iter()
        .filter_map(|e| e.state_entered_event_details().map(|d| d.name.clone()))
        .collect();
    assert!(
        refused_states.iter().any(|s| s == "NotifyInputRefused"),
        "the restart's RestartRefused did not reach the execution: {refused_states:?}"
    );
    assert_eq!(
        emulator.count(Operation::StartFlow),
        1,
        "the forged execution started a flow"
    );

    // The same event delivered again after the restart (EventBridge delivers
    // at least once): StartExecution answers ExecutionAlreadyExists (while
    // an execution runs, the same name and input is simply accepted), the
    // existing execution's decision is read (DescribeExecution) and found
    // to be this one's, superseded only by the restart's own run.
    let again = invoke(
        &on_failure_api,
        event.clone(),
        "on-failure (duplicate)",
        &on_failure_log,
    )
    .await;
    assert_eq!(again["execution"], "already_exists", "{again:#}");

    // ------------------------------------------------ 4b. the sweep binary
    step(started, "the sweep binary with the deployed environment");
    let sweep_env = environment(&sweep_config);
    assert_eq!(sweep_env.get("APPFLOW_RETRY_POLICY_PREFIX"), Some(&prefix));
    assert_eq!(sweep_env.get("APPFLOW_RETRY_STATE_MACHINE_ARN"), Some(&machine_arn));
    let covered: Vec<&str> = tfvars["covered_flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        sweep_env.get("APPFLOW_RETRY_COVERED_FLOWS"),
        Some(&covered.join(",")),
        "the sweep is not given covered_flows"
    );
    // Two failed runs whose events were lost: a covered flow's, and one
    // that covered_flows leaves out. The handled failure above is seen as such.
    for flow in ["salesforce-contacts", UNCOVERED_FLOW] {
        emulator.add_flow(Flow::on_demand(flow));
        emulator.fail_run(
            flow,
            &format!("lost-{flow}"),
            Utc::now() - TimeDelta::minutes(appflow_retry_runtime::SWEEP_GRACE_MINUTES + 5),
            ERROR_MESSAGE,
        );
    }
    let sweep_api = RuntimeApi::start().await.unwrap();
    let sweep_log = work.0.join("sweep.log");
    let _sweep = spawn_deployed(
        &sweep_api,
        env!("CARGO_BIN_EXE_sweep"),
        &sweep_config,
        session(Role::Sweep),
        moto.endpoint(),
        &appflow,
        &sweep_log,
    );
    let scheduled_event = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let swept = invoke(&sweep_api, scheduled_event, "sweep", &sweep_log).await;
    let recovered: Vec<&str> = swept["recovered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["flow"].as_str().unwrap())
        .collect();
    assert_eq!(recovered, vec!["salesforce-contacts"], "{swept:#}");
    assert_eq!(swept["already_handled"], 0, "{swept:#}");
    // The intake queue's depth read under the sweep's role (ReadIntakeBacklog):
    // the queue the mapping emptied above, so the short grace.
    assert_eq!(
        sweep_env.get("APPFLOW_RETRY_INTAKE_QUEUE_URL"),
        Some(&output("intake_queue_url"))
    );
    assert_eq!(swept["intake_backlog"], 0, "{swept:#}");
    // ListExecutions under the sweep's role (ListRunning): denied, it would be
    // null and every candidate read.
    assert!(swept["running_listed"].is_u64(), "{swept:#}");
    assert_eq!(
        swept["grace_seconds"],
        appflow_retry_runtime::SWEEP_GRACE_MINUTES * 60,
        "{swept:#}"
    );
    let mut names: Vec<String> = executions_of(&sfn, &machine_arn)
        .await
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    let mut expected_names = vec![
        execution_name(FLOW, &failed_id),
        "forged-e2e".to_owned(),
        execution_name("salesforce-contacts", "lost-salesforce-contacts"),
    ];
    expected_names.sort();
    assert_eq!(names, expected_names, "the sweep started other executions");

    // ------------------------------------------------ 4c. a deactivation
    step(
        started,
        "a deactivation: on-failure reads the flow (DescribeFlow), the state machine notifies (Publish)",
    );
    let mut suspended = Flow::on_demand(REACTIVATED_FLOW).deactivate_after(3);
    suspended.trigger = TriggerType::Scheduled;
    suspended.status = "Suspended".into();
    emulator.add_flow(suspended);
    let deactivation = flow_deactivated(REACTIVATED_FLOW, TriggerType::Scheduled, Utc::now());
    let answered = invoke(
        &on_failure_api,
        deactivation,
        "on-failure (deactivation)",
        &on_failure_log,
    )
    .await;
    assert_eq!(answered["execution"], "started", "{answered:#}");
    assert_eq!(answered["decision"]["notify"], true, "{answered:#}");
    let notified = executions_of(&sfn, &machine_arn)
        .await
        .into_iter()
        .find(|e| !expected_names.contains(&e.name))
        .expect("the deactivation's execution");
    // The re-activation waits out its backoff (minutes): read the history
    // until the Wait is entered, past the notification.
    let mut history = Vec::new();
    for _ in 0..600 {
        history = sfn
            .get_execution_history()
            .execution_arn(&notified.execution_arn)
            .send()
            .await
            .unwrap()
            .events;
        if history
            .iter()
            .any(|e| e.state_entered_event_details().is_some_and(|d| d.name == "WaitBackoff"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let entered: Vec<&str> = history
        .iter()
        .filter_map(|e| e.state_entered_event_details().map(|d| d.name.as_str()))
        .collect();
    assert_eq!(answered["decision"]["action"], "reactivate", "{answered:#}");
    assert_eq!(entered, ["Route", "NotifyReactivate", "WaitBackoff"], "{answered:#}");
    let published = history
        .iter()
        .filter_map(|e| e.task_succeeded_event_details())
        .any(|d| d.resource_type == "sns" && d.resource == "publish");
    assert!(published, "the notification was not published: {history:#?}");
    sfn.stop_execution()
        .execution_arn(&notified.execution_arn)
        .send()
        .await
        .unwrap();

    // ------------------------------------------------ 4d. what IAM decided
    step(started, "IAM: nothing denied; each role used exactly its Code rows");
    moto_iam(&root, &["enforce", moto.endpoint(), "off"]);
    // The event source mapping back as deployed (no message is sent after this).
    for m in &mapping_ids {
        moto.rest_put_json(
            "lambda",
            &format!("/2015-03-31/event-source-mappings/{m}"),
            &json!({"Enabled": true}),
        )
        .unwrap();
    }
    let mut decisions = moto_decisions(&auth_log);
    decisions.extend(emulator.authorizations().into_iter().filter_map(|a| {
        Some(Decided {
            role: role_of(a.principal.as_deref()?)?,
            action: a.action,
            resource: a.resource,
            allowed: a.allowed,
        })
    }));
    let denied: BTreeSet<&Decided> = decisions.iter().filter(|d| !d.allowed).collect();
    assert!(
        denied.is_empty(),
        "IAM denied the deployed roles these calls: grant them in terraform/modules/service/iam.tf \
         and list them in crates/aws/src/permissions.rs: {denied:#?}"
    );
    for (role, arn) in &roles {
        let name = arn.rsplit('/').next().unwrap();
        let used: BTreeSet<&str> = decisions
            .iter()
            .filter(|d| d.role == name)
            .map(|d| d.action.as_str())
            .collect();
        let mut expected = permissions::actions(*role, Some(Need::Code));
        if matches!(*role, Role::OnFailure | Role::Restart) {
            // The event source mappings' calls, which this test plays with the roles.
            expected.extend(EVENT_SOURCE_MAPPING_ACTIONS);
        }
        assert_eq!(
            used, expected,
            "role {name} ({role:?}) used other actions than its Code rows in crates/aws/src/permissions.rs \
             (a row this test does not exercise, or a call the table misses)"
        );
    }

    // ---------------------------------------------------------------- 5. the rule
    step(
        started,
        "the deployed rule (pattern, target, dead letters) and on-failure's errors queue",
    );
    let events = aws_sdk_eventbridge::Client::new(&moto_config);
    let rule = events.describe_rule().name(output("rule_name")).send().await.unwrap();
    let pattern = rule.event_pattern.expect("the rule has a pattern");
    let targets = events
        .list_targets_by_rule()
        .rule(output("rule_name"))
        .send()
        .await
        .unwrap()
        .targets
        .unwrap_or_default();
    assert_eq!(targets.len(), 1, "{targets:?}");
    let sqs = aws_sdk_sqs::Client::new(&moto_config);
    let intake_arn = common::queue_arn(&sqs, &output("intake_queue_url")).await;
    assert_eq!(targets[0].arn, intake_arn, "the rule's target is the intake queue");
    // The intake queue feeds on-failure, at most decision_concurrency at once,
    // and moves what it cannot handle to the errors queue.
    let mappings = moto
        .rest_get_json("lambda", "/2015-03-31/event-source-mappings/")
        .unwrap();
    let mappings = mappings["EventSourceMappings"].as_array().unwrap();
    assert_eq!(mappings.len(), 2, "{mappings:#?}");
    // The restart queue feeds the restart function (at most 5 at once at
    // restart_rate_per_minute 60: the module's tests check the concurrency).
    let restart_queue_arn = common::queue_arn(&sqs, &output("restart_queue_url")).await;
    for (queue, function) in [(&intake_arn, &on_failure_config), (&restart_queue_arn, &restart_config)] {
        let mapping = mappings
            .iter()
            .find(|m| m["EventSourceArn"] == queue.as_str())
            .unwrap_or_else(|| panic!("no mapping reads {queue}: {mappings:#?}"));
        assert_eq!(mapping["FunctionArn"], function["FunctionArn"], "{mapping:#}");
        assert_eq!(mapping["BatchSize"], 1, "{mapping:#}");
    }
    let dlq_arn = common::queue_arn(&sqs, &output("dead_letter_queue_url")).await;
    assert_eq!(
        targets[0].dead_letter_config().and_then(|d| d.arn()),
        Some(dlq_arn.as_str())
    );
    // What on-failure cannot handle goes to the errors queue: intake messages after 5 receives,
    let errors_queue_arn = common::queue_arn(&sqs, &output("on_failure_errors_queue_url")).await;
    let redrive = sqs
        .get_queue_attributes()
        .queue_url(output("intake_queue_url"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive: Value = serde_json::from_str(
        redrive
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy))
            .expect("the intake queue has a redrive policy"),
    )
    .unwrap();
    assert_eq!(redrive["deadLetterTargetArn"], errors_queue_arn, "{redrive}");
    assert_eq!(
        redrive["maxReceiveCount"]
            .as_u64()
            .or_else(|| redrive["maxReceiveCount"].as_str()?.parse().ok()),
        Some(5),
        "{redrive}"
    );
    // Redrive's asynchronous invocations of on-failure that still fail go to the errors queue.
    let invoke_config = moto
        .rest_get_json(
            "lambda",
            &format!(
                "/2019-09-25/functions/{}/event-invoke-config",
                output("on_failure_function_name")
            ),
        )
        .unwrap();
    assert_eq!(
        invoke_config["DestinationConfig"]["OnFailure"]["Destination"], errors_queue_arn,
        "{invoke_config:#}"
    );
    let mut from_emulator = event.clone();
    from_emulator["detail"]["execution-id"] = json!("emulator-failure");
    assert_eq!(from_emulator["detail"]["flow-name"], FLOW);
    let routed_ids = routed(
        &pattern,
        &[
            with(FAILED, FLOW, "fixture-failed"),
            with(SUCCEEDED, FLOW, "fixture-succeeded"),
            from_emulator,
            with(FAILED, "sap-odata-sales-orders", "fixture-failed-named"),
            with(FAILED, UNCOVERED_FLOW, "fixture-failed-uncovered"),
            with(FAILED, "salesforce", "fixture-failed-short-of-prefix"),
            deactivated("Scheduled", FLOW),
            deactivated("Event", UNCOVERED_FLOW),
        ],
    )
    .await;
    let deactivated_label = format!("deactivated:{FLOW}");
    assert_eq!(
        routed_ids,
        [
            deactivated_label.as_str(),
            "emulator-failure",
            "fixture-failed",
            "fixture-failed-named"
        ],
        "pattern {pattern}"
    );

    // ---------------------------------------------------------------- 6. a policy edit
    step(started, "a policy edit: readable in terraform plan, applied to SSM");
    let edited_file = work.0.join("policies/flows").join(format!("{FLOW}.yaml"));
    let original = std::fs::read_to_string(&edited_file).unwrap();
    assert!(
        original.contains("\nmax_retries: 5\n"),
        "{FLOW}.yaml changed: pick another edit"
    );
    let edited = original.replace("\nmax_retries: 5\n", "\nmax_retries: 4\n");
    std::fs::write(&edited_file, &edited).unwrap();
    let plan_text = tf
        .run(
            "plan-edit",
            &["plan", "-input=false", "-no-color", "-out=edit.tfplan"],
            true,
            Duration::from_secs(300),
        )
        .await;
    let parameter = format!("{prefix}/flows/{FLOW}");
    let header = format!("terraform_data.policy_text[\"{parameter}\"] will be updated in-place");
    let section = plan_text
        .split("\n  # ")
        .find(|s| s.starts_with(&header))
        .unwrap_or_else(|| panic!("the plan does not show the edit as {header:?}:\n{plan_text}"));
    for line in ["- max_retries: 5", "+ max_retries: 4"] {
        assert!(
            section.lines().any(|l| l.trim_start() == line),
            "the plan does not show {line:?} in the clear:\n{section}"
        );
    }
    assert!(!section.contains("(sensitive value)"), "{section}");
    // README's "Reviewing a policy edit" shows this section.
    println!("  # {section}");
    let edit_plan = tf.json("show-edit-plan", &["show", "-json", "edit.tfplan"]).await;
    let mut edited_addresses: Vec<&str> = edit_plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rc| rc["change"]["actions"] == json!(["update"]) && !changed_keys(&rc["change"]).is_empty())
        .filter(|rc| {
            !rc["address"]
                .as_str()
                .unwrap()
                .starts_with("module.service.aws_lambda_function.")
        })
        .map(|rc| rc["address"].as_str().unwrap())
        .collect();
    edited_addresses.sort_unstable();
    assert_eq!(
        edited_addresses,
        [
            format!("aws_ssm_parameter.policy[\"{parameter}\"]"),
            format!("terraform_data.policy_text[\"{parameter}\"]"),
        ],
        "a policy edit updates its parameter and its readable copy in place, nothing else"
    );
    tf.run(
        "apply-edit",
        &["apply", "-auto-approve", "-input=false", "-no-color", "edit.tfplan"],
        false,
        Duration::from_secs(300),
    )
    .await;
    let applied_text = ssm
        .get_parameter()
        .name(&parameter)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap()
        .value
        .unwrap();
    assert_eq!(
        applied_text, edited,
        "terraform apply did not publish the edited policy"
    );

    // ---------------------------------------------------------------- 7. destroy
    step(started, "terraform destroy");
    tf.run(
        "destroy",
        &["destroy", "-auto-approve", "-input=false", "-no-color"],
        true,
        Duration::from_secs(480),
    )
    .await;
    let left: BTreeMap<String, Vec<String>> = inventory(&root, moto.endpoint())
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .collect();
    assert!(left.is_empty(), "terraform destroy left resources in moto: {left:#?}");
    step(started, "done");
}
