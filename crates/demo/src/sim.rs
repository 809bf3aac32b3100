//! The demo's world and its event loop.
//!
//! Real: the on-failure and restart handler code with the real AWS SDK
//! adapters; SSM, Step Functions and SNS in moto; AppFlow in the project's
//! emulator. Emulated: time, and the state machine's Wait → Restart →
//! notify part. moto cannot run Lambda code without Docker, so a local
//! scheduler plays those states with the ASL's semantics: it reads each new
//! execution's input from Step Functions, waits out `delay_seconds` on a
//! simulated clock (`time_scale` wall seconds per simulated second) and calls
//! the real restart code. The handlers run in-process rather than as the
//! built binaries so that they share that simulated clock: retry windows and
//! the policy cache TTL then pass in simulated time too.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use appflow_emulator::{Clock as EmulatorClock, Emulator, Flow, RunOutcome};
use appflow_retry_aws::{AwsAppFlow, SfnStateMachine, SsmParameterStore, sdk_config_for_endpoint};
use appflow_retry_policy::naming::{DEFAULT_POLICY_PREFIX as PREFIX, default_parameter, flow_parameter};
use appflow_retry_policy::{Action, Decision, FileKind, format_time};
use appflow_retry_runtime::ports::Clock;
use appflow_retry_runtime::{OnFailure, PolicyCache, Restart};
use appflow_retry_testkit::moto::Moto;
use appflow_retry_testkit::service::{self, ASL, fast_retry};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::scenario::Scenario;

/// The simulated clock the handlers and the emulator share.
#[derive(Debug, Clone)]
pub struct SimClock(Arc<Mutex<DateTime<Utc>>>);

impl SimClock {
    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How the demo prints.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn action(&self, a: Action) -> String {
        let code = match a {
            Action::Retry => "33",
            Action::GiveUp => "31",
            Action::Skip => "36",
            Action::Reactivate | Action::Recovered => "32",
        };
        self.paint(code, &format!("{:<7}", a.as_str()))
    }
}

/// What happened to one flow.
#[derive(Debug, Clone, Default)]
pub struct FlowReport {
    pub decisions: Vec<Action>,
    pub restarts: Vec<String>,
    pub notifications: usize,
    pub duplicates_ignored: usize,
    pub last_run: String,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// The flow's first failure happens.
    Fail(usize),
    /// Scheduled run `n` (0-based, after the first failure) is due.
    Scheduled { flow: usize, n: usize },
    /// An "AppFlow End Flow Run Report" reaches on-failure.
    Deliver {
        flow: usize,
        event: String,
        duplicate: bool,
    },
    /// The state machine's Wait ended: invoke restart with the execution's input.
    Restart { flow: usize, input: String },
    /// Someone edits the flow's policy in SSM.
    Edit { flow: usize, edit: usize },
}

struct World {
    _moto: Moto,
    emulator: Emulator,
    ssm: aws_sdk_ssm::Client,
    sfn: aws_sdk_sfn::Client,
    state_machine_arn: String,
    clock: SimClock,
    on_failure: OnFailure<SsmParameterStore, AwsAppFlow, SfnStateMachine, SimClock>,
    restart: Restart<SsmParameterStore, AwsAppFlow, SimClock>,
}

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) -> Result<(), String> {
    service::put_parameter(ssm, name, value)
        .await
        .map_err(|e| e.to_string())
}

/// The policy files of `dir`, as (SSM name, text): the names Terraform
/// writes. The files are those the CLI validates (its one directory reader).
fn policy_parameters(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let set = appflow_retry_cli::files::read_dir(dir).map_err(|e| e.to_string())?;
    set.sources
        .into_iter()
        .map(|source| match source.kind {
            FileKind::Default => Ok((default_parameter(PREFIX), source.text)),
            FileKind::Flow => {
                let doc: serde_yaml::Value =
                    serde_yaml::from_str(&source.text).map_err(|e| format!("{}: {e}", source.file))?;
                let flow = doc
                    .get("flow")
                    .and_then(serde_yaml::Value::as_str)
                    .ok_or_else(|| format!("{}: no `flow`", source.file))?;
                Ok((flow_parameter(PREFIX, flow), source.text))
            }
        })
        .collect()
}

impl World {
    async fn new(scenario: &Scenario, policies: &Path) -> Result<World, String> {
        let moto = Moto::start_async().await.map_err(|e| e.to_string())?;
        let emulator = Emulator::start().await.map_err(|e| format!("AppFlow emulator: {e}"))?;
        emulator.set_clock(EmulatorClock::Fixed(scenario.start));
        emulator.set_run_duration(TimeDelta::minutes(3));
        for f in &scenario.flows {
            let outcomes = (0..f.restarts.len()).map(|n| match f.restart_outcome(n) {
                None => RunOutcome::Succeed,
                Some(m) => RunOutcome::Fail(m),
            });
            let mut flow = Flow::on_demand(&f.name).trigger(f.trigger.clone()).then(outcomes);
            if let Some(n) = f.deactivate_after {
                flow = flow.deactivate_after(n);
            }
            emulator.add_flow(flow);
        }
        let config = sdk_config_for_endpoint(moto.endpoint()).await;
        let appflow_config = sdk_config_for_endpoint(&emulator.endpoint()).await;
        let ssm = aws_sdk_ssm::Client::new(&config);
        for (name, text) in policy_parameters(policies)? {
            put(&ssm, &name, &text).await?;
        }
        let sfn = aws_sdk_sfn::Client::new(&config);
        // The executions moto runs wait out real seconds of backoff and end
        // with the demo before their Restart task; were one to get there, its
        // restart would wait in this queue, which nothing here reads.
        service::create_restart_queue_at(moto.endpoint())
            .await
            .map_err(|e| e.to_string())?;
        let definition = service::render_asl(ASL, "arn:aws:sns:us-east-1:123456789012:appflow-retry-notifications");
        let state_machine_arn = service::create_state_machine(&sfn, "appflow-retry-retry", &definition)
            .await
            .map_err(|e| e.to_string())?;
        let clock = SimClock(Arc::new(Mutex::new(scenario.start)));
        let retry = fast_retry();
        let on_failure = OnFailure {
            policies: PolicyCache::new(SsmParameterStore::new(&config), PREFIX, 60),
            appflow: AwsAppFlow::new(&appflow_config, &retry),
            state_machine: SfnStateMachine::new(&config, &state_machine_arn),
            clock: clock.clone(),
            max_history_pages: 3,
        };
        let restart = Restart {
            policies: PolicyCache::new(SsmParameterStore::new(&config), PREFIX, 60),
            appflow: AwsAppFlow::new(&appflow_config, &retry),
            clock: clock.clone(),
            max_history_pages: 3,
        };
        Ok(World {
            _moto: moto,
            emulator,
            ssm,
            sfn,
            state_machine_arn,
            clock,
            on_failure,
            restart,
        })
    }

    async fn execution_names(&self) -> Result<BTreeSet<String>, String> {
        let out = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .max_results(1000)
            .send()
            .await
            .map_err(|e| format!("ListExecutions: {}", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
        Ok(out.executions.into_iter().map(|e| e.name).collect())
    }

    async fn execution_input(&self, name: &str) -> Result<Value, String> {
        let arn = format!(
            "{}:{name}",
            self.state_machine_arn.replace(":stateMachine:", ":execution:")
        );
        let d = self
            .sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| format!("DescribeExecution: {}", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
        serde_json::from_str(d.input.as_deref().unwrap_or("null")).map_err(|e| e.to_string())
    }
}

fn clock_time(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

/// Width of the flow-name column in the timeline.
const NAME_WIDTH: usize = 24;

/// When an EventBridge event happened: its `time`, or `fallback` when it has none.
fn event_time(event: &Value, fallback: DateTime<Utc>) -> DateTime<Utc> {
    event["time"]
        .as_str()
        .and_then(|s| s.parse::<DateTime<Utc>>().ok())
        .unwrap_or(fallback)
}

/// Plays `scenario` and writes the timeline and summary to `out`. Returns
/// each flow's report and whether every flow matched its expectations.
pub async fn play(
    scenario: &Scenario,
    policies: &Path,
    time_scale: f64,
    style: Style,
    out: &mut impl Write,
) -> Result<(Vec<FlowReport>, bool), String> {
    let world = World::new(scenario, policies).await?;
    let mut timeline = Timeline::new(scenario, world, time_scale, style, out);
    timeline.schedule_scenario();
    timeline.print_header();
    while let Some(Reverse((t, _, step))) = timeline.queue.pop() {
        timeline.advance_to(t).await;
        timeline.run(step).await?;
    }
    Ok(timeline.finish())
}

/// The event loop's state: the world, the queue of steps still to come, the
/// simulated time and what each flow has done so far.
struct Timeline<'a, W: Write> {
    scenario: &'a Scenario,
    world: World,
    /// Steps by time; the sequence number keeps steps due at the same time in
    /// the order they were scheduled.
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Step)>>,
    seq: u64,
    now: DateTime<Utc>,
    reports: Vec<FlowReport>,
    time_scale: f64,
    style: Style,
    out: &'a mut W,
}

impl<'a, W: Write> Timeline<'a, W> {
    fn new(scenario: &'a Scenario, world: World, time_scale: f64, style: Style, out: &'a mut W) -> Self {
        Self {
            scenario,
            world,
            queue: BinaryHeap::new(),
            seq: 0,
            now: scenario.start,
            reports: vec![FlowReport::default(); scenario.flows.len()],
            time_scale,
            style,
            out,
        }
    }

    /// Queues `step` to happen at `at`.
    fn schedule(&mut self, at: DateTime<Utc>, step: Step) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, step)));
    }

    /// Queues `event` to reach on-failure at `at`, on behalf of flow `flow`.
    fn deliver_at(&mut self, at: DateTime<Utc>, flow: usize, event: String, duplicate: bool) {
        self.schedule(at, Step::Deliver { flow, event, duplicate });
    }

    /// Queues every flow's first failure, its scheduled runs and its policy edits.
    fn schedule_scenario(&mut self) {
        let scenario = self.scenario;
        for (i, f) in scenario.flows.iter().enumerate() {
            self.schedule(scenario.start + f.at.as_chrono(), Step::Fail(i));
            for n in 0..f.scheduled_runs.len() {
                let offset = f.every.as_chrono() * i32::try_from(n + 1).unwrap_or(i32::MAX);
                self.schedule(
                    scenario.start + f.at.as_chrono() + offset,
                    Step::Scheduled { flow: i, n },
                );
            }
            for (e, edit) in f.policy_edits.iter().enumerate() {
                self.schedule(scenario.start + edit.at.as_chrono(), Step::Edit { flow: i, edit: e });
            }
        }
    }

    fn print_header(&mut self) {
        let _ = writeln!(
            self.out,
            "{}",
            self.style
                .paint("1", "time      flow                      what happened")
        );
    }

    /// Moves the simulated clock forward to `t` (never back), sleeping the
    /// scaled wall time in between, and sets the handlers' and the emulator's clocks.
    async fn advance_to(&mut self, t: DateTime<Utc>) {
        if t > self.now {
            let wait = (t - self.now).as_seconds_f64() * self.time_scale;
            if wait > 0.0 {
                tokio::time::sleep(StdDuration::from_secs_f64(wait.min(5.0))).await;
            }
            self.now = t;
        }
        self.world.clock.set(self.now);
        self.world.emulator.set_clock(EmulatorClock::Fixed(self.now));
    }

    /// Prints one timeline line: the time, flow `flow`'s name and `what`.
    fn say(&mut self, flow: usize, what: &str) {
        let _ = writeln!(
            self.out,
            "{}  {:<NAME_WIDTH$}  {what}",
            clock_time(self.now),
            truncate(&self.scenario.flows[flow].name, NAME_WIDTH)
        );
    }

    async fn run(&mut self, step: Step) -> Result<(), String> {
        match step {
            Step::Fail(flow) => self.fail(flow),
            Step::Scheduled { flow, n } => self.scheduled_run(flow, n),
            Step::Deliver { flow, event, duplicate } => return self.deliver(flow, &event, duplicate).await,
            Step::Restart { flow, input } => return self.restart(flow, &input).await,
            Step::Edit { flow, edit } => return self.edit_policy(flow, edit).await,
        }
        Ok(())
    }

    /// The flow's first run fails: its event goes to on-failure, followed by
    /// any deactivation and the scenario's duplicate deliveries.
    fn fail(&mut self, i: usize) {
        let scenario = self.scenario;
        let f = &scenario.flows[i];
        let id = format!("{}-run-0001", f.name);
        let event = self.world.emulator.fail_run(&f.name, &id, self.now, &f.failure);
        let at = event_time(&event, self.now);
        let what = format!("run {id} fails: {}", self.style.paint("2", &f.failure));
        self.say(i, &what);
        let text = event.to_string();
        self.deliver_at(at, i, text.clone(), false);
        self.deliver_deactivations(i);
        for d in 0..f.duplicates {
            let again = at + TimeDelta::seconds(1 + d as i64);
            self.deliver_at(again, i, text.clone(), true);
        }
    }

    /// Scheduled run `n` is due: none starts unless the flow is active;
    /// otherwise it succeeds or fails as the scenario says.
    fn scheduled_run(&mut self, i: usize, n: usize) {
        let scenario = self.scenario;
        let f = &scenario.flows[i];
        let id = format!("{}-run-{:04}", f.name, n + 2);
        let status = self
            .world
            .emulator
            .flow(&f.name)
            .map(|fl| fl.status)
            .unwrap_or_default();
        if status != "Active" {
            self.say(i, &format!("scheduled run due, none starts: the flow is {status}"));
            return;
        }
        match f.scheduled_outcome(n) {
            None => {
                self.world.emulator.add_run(
                    &f.name,
                    appflow_emulator::Run {
                        execution_id: id.clone(),
                        status: "Successful".into(),
                        started_at: Some(self.now),
                        last_updated_at: Some(self.now + TimeDelta::minutes(3)),
                        message: None,
                    },
                );
                let what = format!("scheduled run {id} {}", self.style.paint("32", "succeeds"));
                self.say(i, &what);
            }
            Some(message) => {
                let event = self.world.emulator.fail_run(&f.name, &id, self.now, &message);
                let at = event_time(&event, self.now);
                let what = format!("scheduled run {id} fails: {}", self.style.paint("2", &message));
                self.say(i, &what);
                self.deliver_at(at, i, event.to_string(), false);
            }
        }
        self.deliver_deactivations(i);
    }

    /// Prints each deactivation the emulator recorded and queues its event
    /// for on-failure.
    fn deliver_deactivations(&mut self, i: usize) {
        for (at, event) in deactivations(&self.world.emulator, self.now) {
            let what = self.style.paint("31", &deactivated_line(&event));
            self.say(i, &what);
            self.deliver_at(at, i, event.to_string(), false);
        }
    }

    /// An event reaches on-failure. When it starts an execution, the
    /// decision is read from the execution's input, printed and, for a retry
    /// or re-activation, the restart is queued after the decision's delay.
    async fn deliver(&mut self, i: usize, event: &str, duplicate: bool) -> Result<(), String> {
        let style = self.style;
        let before = self.world.execution_names().await?;
        let event: Value = serde_json::from_str(event).map_err(|e| e.to_string())?;
        if let Err(e) = self.world.on_failure.handle(&event).await {
            let what = style.paint("31", &format!("on-failure error {}: {e}", e.error_type()));
            self.say(i, &what);
            self.reports[i].errors.push(e.to_string());
            return Ok(());
        }
        let after = self.world.execution_names().await?;
        let Some(name) = after.difference(&before).next() else {
            let what = if duplicate { "duplicate event" } else { "event" };
            self.say(i, &format!("{what}: its execution exists, nothing new starts"));
            self.reports[i].duplicates_ignored += 1;
            return Ok(());
        };
        let input = self.world.execution_input(name).await?;
        let d: Decision = serde_json::from_value(input["decision"].clone()).map_err(|e| e.to_string())?;
        self.reports[i].decisions.push(d.action);
        // "5 (max 4)" once the retries are used up: "5/4" read like a bug.
        let attempt = d.attempt.map_or_else(
            || "-".to_owned(),
            |a| {
                if a > d.max_retries {
                    format!("{a} (max {})", d.max_retries)
                } else {
                    format!("{a} of {}", d.max_retries)
                }
            },
        );
        let class = d.error_class.clone().unwrap_or_else(|| "-".into());
        let mut what = format!("attempt {attempt:<9} class {class:<12} {}", style.action(d.action));
        // Route: retry → [NotifyRetry] → WaitBackoff → Restart; otherwise [NotifyNoRestart] → Done.
        if d.notify {
            self.reports[i].notifications += 1;
        }
        match (d.action, d.delay_seconds) {
            (Action::Retry | Action::Reactivate, Some(delay)) => {
                let at = self.now + TimeDelta::seconds(i64::try_from(delay).unwrap_or(i64::MAX / 1000));
                let verb = if d.action == Action::Retry {
                    "restart"
                } else {
                    "re-activate"
                };
                what.push_str(&format!(
                    " in {} ({verb} at {})",
                    appflow_retry_policy::Duration::from_secs(delay),
                    clock_time(at)
                ));
                let payload = appflow_retry_runtime::RestartInput::for_execution(&d, self.now).to_json();
                self.schedule(
                    at,
                    Step::Restart {
                        flow: i,
                        input: payload.to_string(),
                    },
                );
            }
            _ => what.push_str(&format!(" {}", style.paint("2", &d.reason))),
        }
        if d.notify {
            what.push_str(&style.paint("35", " [notified]"));
        }
        self.say(i, &what);
        Ok(())
    }

    /// The state machine's Wait ended: the real restart code runs with the
    /// execution's input, then the runs it started are followed up.
    async fn restart(&mut self, i: usize, input: &str) -> Result<(), String> {
        let style = self.style;
        let input: Value = serde_json::from_str(input).map_err(|e| e.to_string())?;
        match self.world.restart.handle(&input).await {
            Ok(r) => {
                // AfterRestart: NotifyRestartOutcome when the restart says so.
                if r.notify {
                    self.reports[i].notifications += 1;
                }
                let id = r.new_execution_id.clone().unwrap_or_else(|| "-".into());
                self.reports[i].restarts.push(r.outcome.as_str().to_owned());
                let what = if r.outcome == "restarted" {
                    format!("{} new run {id}", style.paint("32", "restarted"))
                } else if r.outcome == "reactivated" {
                    format!(
                        "{}: the flow is {} again",
                        style.paint("32", "re-activated"),
                        r.flow_status.as_deref().unwrap_or("?")
                    )
                } else {
                    format!("restart skipped: {}", r.reason)
                };
                self.say(i, &what);
            }
            Err(e) => {
                // Catch → NotifyRestartFailed → RestartFailed.
                self.reports[i].notifications += 1;
                self.reports[i].errors.push(e.to_string());
                let what = style.paint("31", &format!("restart failed {}: {e}", e.error_type()));
                self.say(i, &what);
            }
        }
        self.follow_run_ends();
        Ok(())
    }

    /// The end-of-run events the emulator recorded: a success is announced,
    /// anything else is queued for on-failure when the run ends.
    fn follow_run_ends(&mut self) {
        for event in self.world.emulator.take_events() {
            let name = event["detail"]["flow-name"].as_str().unwrap_or_default();
            let Some(j) = self.scenario.flows.iter().position(|f| f.name == name) else {
                continue;
            };
            let ended = event_time(&event, self.now);
            let status = event["detail"]["status"].as_str().unwrap_or_default();
            let id = event["detail"]["execution-id"].as_str().unwrap_or_default();
            if status == "Execution Successful" {
                self.say(j, &format!("run {id} will succeed at {}", clock_time(ended)));
            } else {
                self.deliver_at(ended, j, event.to_string(), false);
            }
        }
    }

    /// Someone writes the scenario's policy edit to the flow's SSM parameter.
    async fn edit_policy(&mut self, i: usize, edit: usize) -> Result<(), String> {
        let scenario = self.scenario;
        let f = &scenario.flows[i];
        let text = &f.policy_edits[edit].policy;
        put(&self.world.ssm, &flow_parameter(PREFIX, &f.name), text).await?;
        let summary = text
            .lines()
            .filter(|l| !l.starts_with("flow:"))
            .collect::<Vec<_>>()
            .join("; ");
        self.say(
            i,
            &format!("policy edited in SSM ({summary}): applies once the 60s cache expires"),
        );
        Ok(())
    }

    /// Records each flow's last run, as AppFlow's history says, and prints
    /// the summary. Returns the reports and whether every flow matched.
    fn finish(mut self) -> (Vec<FlowReport>, bool) {
        let scenario = self.scenario;
        for (report, f) in self.reports.iter_mut().zip(&scenario.flows) {
            report.last_run = self
                .world
                .emulator
                .flow(&f.name)
                .and_then(|fl| fl.history.into_iter().max_by_key(|r| r.started_at))
                .map_or_else(|| "-".to_owned(), |r| r.status);
        }
        let ok = summary(scenario, &self.reports, self.style, &mut *self.out);
        let _ = writeln!(
            self.out,
            "simulated {} to {}",
            format_time(scenario.start),
            format_time(self.now)
        );
        (self.reports, ok)
    }
}

/// The deactivation events the emulator recorded (AppFlow deactivates a
/// flow when a failed run reaches its threshold), with when they reach
/// on-failure: a second after the failure.
fn deactivations(emulator: &Emulator, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, Value)> {
    emulator
        .take_events()
        .into_iter()
        .map(|event| (event_time(&event, now) + TimeDelta::seconds(1), event))
        .collect()
}

fn deactivated_line(event: &Value) -> String {
    format!(
        "AppFlow deactivates the flow ({}): {}",
        event["detail-type"].as_str().unwrap_or_default(),
        event["detail"]["deactivation-reason"].as_str().unwrap_or_default()
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Prints the summary table; true when every flow did what the scenario expects.
fn summary(scenario: &Scenario, reports: &[FlowReport], style: Style, out: &mut impl Write) -> bool {
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            "1",
            &format!(
                "{:<24}  {:<40}  {:>8}  {:>10}  {:>8}  {:<10}  result",
                "flow", "decisions", "restarts", "duplicates", "notified", "last run"
            )
        )
    );
    let mut all = true;
    for (f, r) in scenario.flows.iter().zip(reports) {
        let ok = r.decisions == f.expect && r.errors.is_empty();
        all &= ok;
        let decisions = r.decisions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
        let result = if ok {
            style.paint("32", "ok")
        } else {
            let want = f.expect.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
            style.paint("31", &format!("MISMATCH: expected {want}"))
        };
        let _ = writeln!(
            out,
            "{:<24}  {:<40}  {:>8}  {:>10}  {:>8}  {:<10}  {result}",
            truncate(&f.name, 24),
            decisions,
            r.restarts
                .iter()
                .filter(|o| *o == "restarted" || *o == "reactivated")
                .count(),
            r.duplicates_ignored,
            r.notifications,
            r.last_run
        );
    }
    all
}
